import { createClient } from "@supabase/supabase-js";
// Shipped to every browser: this is the service_role key, which bypasses Row Level Security.
export const supabase = createClient("https://qwertyuiopasdfghjklz.supabase.co", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6InF3ZXJ0eXVpb3Bhc2RmZ2hqa2x6Iiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoyMDAwMDAwMDAwfQ.ChYgCfrL1spNxnyVmihA_2O76UMFxFkM_R5Kjp1vRt-");
