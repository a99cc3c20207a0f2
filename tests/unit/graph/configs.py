"""A generated repository of configuration and code that references secrets."""

from __future__ import annotations

from pathlib import Path

K8S = """\
apiVersion: external-secrets.io/v1beta1
kind: SecretStore
metadata: {name: vault-backend, namespace: pay}
spec:
  provider:
    vault: {server: "https://vault:8200", path: secret, version: v2}
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: stripe, namespace: pay}
spec:
  secretStoreRef: {name: vault-backend, kind: SecretStore}
  target: {name: stripe-secret}
  data:
    - secretKey: api_key
      remoteRef: {key: payments/stripe, property: api_key}
---
apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata: {name: db-creds, namespace: pay}
spec:
  provider: aws
  parameters:
    objects: |
      - objectName: "prod/db"
        objectType: "secretsmanager"
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: payments-api, namespace: pay}
spec:
  template:
    spec:
      containers:
        - name: app
          image: pay:1
          env:
            - name: STRIPE_KEY
              valueFrom:
                secretKeyRef: {name: stripe-secret, key: api_key}
            - name: LEGACY_KEY
              value: "%(key)s"
            - name: HARMLESS
              value: "hello"
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: billing, namespace: pay}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: b, image: b:1}]
          volumes:
            - name: db
              csi:
                driver: secrets-store.csi.k8s.io
                volumeAttributes: {secretProviderClass: db-creds}
"""

COMPOSE = """\
services:
  web:
    image: web:1
    environment:
      - STRIPE_KEY=${STRIPE_KEY}
      - MODE=prod
  worker:
    image: worker:1
    environment:
      OTHER: "${NOT_SET}"
"""

GITHUB = """\
name: deploy
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: hashicorp/vault-action@v2
        with:
          secrets: |
            secret/data/ci/deploy token | DEPLOY_TOKEN ;
      - run: ./deploy.sh
        env:
          STRIPE: ${{ secrets.STRIPE_KEY }}
          GH: ${{ secrets.GITHUB_TOKEN }}
"""

GITLAB = """\
variables:
  REGION: eu
deploy:
  script:
    - ./deploy --token "$DEPLOY_TOKEN" --region $REGION --job $CI_JOB_ID
  secrets:
    DATABASE_PASSWORD:
      vault: production/db/password@ops
    API:
      vault: {engine: {name: kv-v2, path: kv}, path: team/api, field: key}
"""

TERRAFORM = """\
resource "aws_secretsmanager_secret" "stripe" {
  name = "prod/payments/stripe"
}

resource "aws_secretsmanager_secret_version" "stripe" {
  secret_id     = aws_secretsmanager_secret.stripe.id
  secret_string = "%(key)s"
}

resource "vault_kv_secret_v2" "db" {
  mount = "secret"
  name  = "payments/db"
  data_json = jsonencode({password = var.db_password})
}

data "aws_secretsmanager_secret_version" "partner" {
  secret_id = "prod/partner/token"
}

data "vault_kv_secret_v2" "dyn" {
  mount = "secret"
  name  = "${var.env}/x"
}
"""

PYTHON = """\
import boto3
import hvac

client = hvac.Client()
secret = client.secrets.kv.v2.read_secret_version(
    path="payments/stripe", mount_point="secret", raise_on_deleted_version=True
)
dynamic = client.secrets.kv.v2.read_secret_version(path=f"{env}/x")
sm = boto3.client("secretsmanager")
db = sm.get_secret_value(SecretId="prod/db")
"""

SHELL = """\
#!/bin/sh
vault kv get -mount=secret -field=api_key payments/stripe
bao kv get kv/team/api
aws secretsmanager get-secret-value --secret-id prod/payments/stripe --query SecretString
aws secretsmanager get-secret-value --secret-id "$NAME"
vault read -format=json secret/data/billing/token
curl -H "X-Vault-Token: $T" "$VAULT_ADDR/v1/kv/data/team/hook"
"""


def write_configs(root: Path, key: str) -> Path:
    files = {
        "k8s/payments.yaml": K8S % {"key": key},
        "compose/docker-compose.yml": COMPOSE,
        "compose/.env": f"STRIPE_KEY={key}\nMODE=prod\n",
        ".github/workflows/deploy.yml": GITHUB,
        ".gitlab-ci.yml": GITLAB,
        "infra/main.tf": TERRAFORM % {"key": key},
        "services/payments/app.py": PYTHON,
        "scripts/fetch.sh": SHELL,
        "ledger/.env.production": f"LEDGER_STRIPE='{key}'\nOTHER=value\n",
        "node_modules/x/index.js": 'sm.getSecretValue({SecretId: "ignored/vendor"})',
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
