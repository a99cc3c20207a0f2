"""AWS IAM access keys as a :class:`KeyIssuer`, plus :class:`Containment` by inline deny policy.

IAM allows two access keys per user, so :meth:`IamKeyIssuer.issue` first frees a slot, deleting
only an *inactive* key that the caller did not ask to keep; it never deletes an active key. The
secret access key exists only in the :class:`IssuedKey` returned (IAM never shows it again).

Idempotency: IAM has no client token for ``CreateAccessKey``. Before creating, LeakGuard tags the
user with ``leakguard:issue:<token hash>`` listing the keys that existed; after, the tag names the
new key. A re-run of the same step in the same process returns the same key; a re-run after a
crash (the secret is lost with the process) deletes the key that step created, which nobody can
have used, and issues a fresh one: at most one key per token ever exists.

Proving an old key dead: AWS rejects an inactive key, but moto accepts it, so :meth:`works` is
not evidence. :meth:`proven_dead` uses the key's status and ``GetAccessKeyLastUsed`` instead.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import boto3

from leakguard.backends._aws import make_client
from leakguard.backends.errors import aws_error_code, from_botocore
from leakguard.backends.interface import IssuedKey, KeyState, SecretData, data_fingerprint
from leakguard.errors import BackendError
from leakguard.redact import redact

ACCESS_KEY_ID = "aws_access_key_id"
SECRET_ACCESS_KEY = "aws_secret_access_key"
TAG_PREFIX = "leakguard:issue:"
CONTAINMENT_PREFIX = "leakguard-containment-"
AUTH_FAILURES = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "AuthFailure",
        "AccessDenied",
        "AccessDeniedException",
        "ExpiredToken",
        "InvalidAccessKeyId",
    }
)

DENIED_ACTIONS = (
    # minting or changing credentials and permissions
    "iam:CreateAccessKey",
    "iam:UpdateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:CreateServiceSpecificCredential",
    "iam:UploadSSHPublicKey",
    "iam:UploadSigningCertificate",
    "iam:*MFADevice*",
    "iam:*User*",
    "iam:*Policy*",
    "iam:*Role*",
    "iam:*Group*",
    "sts:GetFederationToken",
    # new compute an attacker would mine with or persist in
    "ec2:RunInstances",
    "ec2:RequestSpotInstances",
    "ec2:RequestSpotFleet",
    "ec2:CreateFleet",
    "ec2:CreateKeyPair",
    "ec2:ImportKeyPair",
    "lambda:CreateFunction",
    "lambda:UpdateFunctionCode",
    "lambda:AddPermission",
    "ecs:RunTask",
    "ecs:CreateService",
    "eks:CreateCluster",
    "sagemaker:CreateNotebookInstance",
    "lightsail:CreateInstances",
    # hiding tracks
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail",
    "cloudtrail:UpdateTrail",
    "cloudtrail:PutEventSelectors",
    "guardduty:DeleteDetector",
    "organizations:LeaveOrganization",
)

T = TypeVar("T")


def containment_policy() -> dict[str, Any]:
    """Deny high-risk actions; everything the application does day to day keeps working."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "LeakGuardContainment",
                "Effect": "Deny",
                "Action": list(DENIED_ACTIONS),
                "Resource": "*",
            }
        ],
    }


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Revocation:
    """Whether an old key is proven dead, and why (or why not)."""

    key_id: str
    dead: bool
    status: str
    """``"active"`` | ``"inactive"`` | ``"deleted"``"""
    last_used: str | None
    reason: str


class IamKeyIssuer:
    """Issues and revokes IAM user access keys; also a :class:`Containment`.

    Run it with an identity other than the contained user's: the deny policy blocks that user's
    own IAM calls."""

    kind = "aws-iam"

    def __init__(
        self,
        session: boto3.session.Session | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        timeout: float = 10.0,
        *,
        iam_client: Any = None,
        sts_factory: Callable[[SecretData], Any] | None = None,
    ) -> None:
        self._iam = iam_client or make_client(
            "iam", session=session, endpoint_url=endpoint_url, region=region, timeout=timeout
        )
        self._sts_factory = sts_factory or (
            lambda creds: make_client(
                "sts",
                endpoint_url=endpoint_url,
                region=region,
                timeout=timeout,
                credentials={
                    "aws_access_key_id": creds[ACCESS_KEY_ID],
                    "aws_secret_access_key": creds[SECRET_ACCESS_KEY],
                },
            )
        )
        self._issued: dict[tuple[str, str], IssuedKey] = {}

    @classmethod
    def from_env(cls, timeout: float = 10.0) -> IamKeyIssuer:
        return cls(timeout=timeout)

    def _call(self, operation: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except BackendError:
            raise
        except Exception as exc:
            raise from_botocore(exc, operation) from None

    # -- KeyIssuer --------------------------------------------------------------------------

    def list_keys(self, subject: str) -> list[KeyState]:
        listed = self._call(
            f"list access keys of {subject}",
            lambda: self._iam.list_access_keys(UserName=subject),
        )
        keys = [
            KeyState(
                key_id=str(k["AccessKeyId"]),
                status=str(k["Status"]).lower(),
                created=_iso(k.get("CreateDate")),
            )
            for k in listed.get("AccessKeyMetadata") or []
        ]
        return sorted(keys, key=lambda k: k.created or "")

    def issue(self, subject: str, token: str, *, keep: Collection[str] = ()) -> IssuedKey:
        """Create a new access key for ``subject``, freeing a slot first if both are taken.
        ``keep``: key ids that must survive (e.g. the one the secret store holds as current)."""
        cached = self._issued.get((subject, token))
        if cached is not None:
            return cached
        tag = TAG_PREFIX + _digest(token)
        self._delete_orphans(subject, tag)
        before = self.list_keys(subject)
        if len(before) >= 2:
            self.free_slot(subject, keep=keep)
            before = self.list_keys(subject)
        ids = ",".join(k.key_id for k in before)
        self._tag(subject, tag, f"before:{int(time.time())}:{ids}")
        created = self._call(
            f"create an access key for {subject}",
            lambda: self._iam.create_access_key(UserName=subject),
        )["AccessKey"]
        key_id = str(created["AccessKeyId"])
        self._tag(subject, tag, "key:" + key_id)
        secret = {ACCESS_KEY_ID: key_id, SECRET_ACCESS_KEY: str(created["SecretAccessKey"])}
        issued = IssuedKey(key_id, subject, secret, data_fingerprint(secret))
        self._issued[(subject, token)] = issued
        return issued

    def free_slot(self, subject: str, *, keep: Collection[str] = ()) -> str | None:
        """Delete the oldest inactive key not in ``keep`` when the user has two keys. Returns
        the deleted key id, or ``None`` if a slot was already free."""
        keys = self.list_keys(subject)
        if len(keys) < 2:
            return None
        candidates = [k for k in keys if k.status == "inactive" and k.key_id not in keep]
        if not candidates:
            shown = ", ".join(f"{redact(k.key_id)} ({k.status})" for k in keys)
            raise BackendError(
                f"IAM user {subject} already has two access keys ({shown}) and none may be "
                "deleted safely",
                hint="deactivate the key that is not in use (after checking its last use), "
                "then resume",
            )
        victim = candidates[0].key_id
        self.delete(subject, victim)
        return victim

    def works(self, key: IssuedKey | SecretData) -> bool:
        """STS GetCallerIdentity with the key. ``True`` proves a new key works; ``False`` is not
        enough to prove an old key dead (moto accepts inactive keys): use :meth:`proven_dead`."""
        creds = key.secret if isinstance(key, IssuedKey) else _credentials(key)
        try:
            sts = self._sts_factory(creds)
            identity = sts.get_caller_identity()
        except Exception as exc:
            if aws_error_code(exc) in AUTH_FAILURES:
                return False
            raise from_botocore(exc, "STS GetCallerIdentity") from None
        if isinstance(key, IssuedKey):
            arn = str(identity.get("Arn", ""))
            return arn.rsplit("/", 1)[-1] == key.subject
        return True

    def deactivate(self, subject: str, key_id: str, *, force: bool = False) -> None:
        """Set the key inactive. Refuses to leave the user without an active key unless
        ``force`` (an incident responder cutting a leaked key at the cost of an outage)."""
        keys = {k.key_id: k for k in self.list_keys(subject)}
        state = keys.get(key_id)
        if state is None:
            raise BackendError(f"IAM user {subject} has no access key {redact(key_id)}")
        if state.status == "inactive":
            return
        others = [k for k in keys.values() if k.key_id != key_id and k.status == "active"]
        if not others and not force:
            raise BackendError(
                f"{redact(key_id)} is the only active access key of {subject}",
                hint="issue and store the new key first (or force it to accept the outage)",
            )
        self._set_status(subject, key_id, "Inactive")

    def activate(self, subject: str, key_id: str) -> None:
        self._set_status(subject, key_id, "Active")

    def delete(self, subject: str, key_id: str) -> None:
        """Delete an inactive key (deactivate it and check its last use first). Deleting a key
        that is already gone is a no-op."""
        keys = {k.key_id: k for k in self.list_keys(subject)}
        state = keys.get(key_id)
        if state is not None:
            if state.status == "active":
                raise BackendError(
                    f"refusing to delete active access key {redact(key_id)} of {subject}",
                    hint="deactivate it, verify nothing uses it, then delete it after the soak",
                )
            self._delete_key(subject, key_id)
        self._untag_key(subject, key_id)

    # -- proving the old key dead -----------------------------------------------------------

    def last_used(self, key_id: str) -> datetime | None:
        response = self._call(
            f"read last use of {redact(key_id)}",
            lambda: self._iam.get_access_key_last_used(AccessKeyId=key_id),
        )
        used = (response.get("AccessKeyLastUsed") or {}).get("LastUsedDate")
        return used if isinstance(used, datetime) else None

    def proven_dead(self, subject: str, key_id: str, deactivated_at: datetime) -> Revocation:
        """Dead = deleted, or inactive with no recorded use after ``deactivated_at``. Does not
        call the key: an inactive key that still authenticates (moto) proves nothing, and a key
        that was *used* after deactivation means a consumer still holds it."""
        state = next((k for k in self.list_keys(subject) if k.key_id == key_id), None)
        if state is None:
            return Revocation(key_id, True, "deleted", None, "the key no longer exists")
        used = self.last_used(key_id)
        used_iso = used.isoformat() if used else None
        if state.status == "active":
            return Revocation(key_id, False, "active", used_iso, "the key is still active")
        if used is not None and _aware(used) > _aware(deactivated_at):
            return Revocation(
                key_id,
                False,
                "inactive",
                used_iso,
                "the key was presented after it was deactivated: a consumer still uses it",
            )
        return Revocation(key_id, True, "inactive", used_iso, "inactive and unused since")

    # -- Containment ------------------------------------------------------------------------

    def contain(self, subject: str, token: str) -> str:
        name = CONTAINMENT_PREFIX + _digest(token)
        document = json.dumps(containment_policy())
        self._call(
            f"attach containment policy to {subject}",
            lambda: self._iam.put_user_policy(
                UserName=subject, PolicyName=name, PolicyDocument=document
            ),
        )
        return name

    def release(self, subject: str, containment_id: str) -> None:
        def remove() -> None:
            try:
                self._iam.delete_user_policy(UserName=subject, PolicyName=containment_id)
            except Exception as exc:
                if aws_error_code(exc) != "NoSuchEntity":
                    raise

        self._call(f"remove containment policy from {subject}", remove)

    def contained(self, subject: str) -> list[str]:
        listed = self._call(
            f"list inline policies of {subject}",
            lambda: self._iam.list_user_policies(UserName=subject),
        )
        return [p for p in listed.get("PolicyNames") or [] if p.startswith(CONTAINMENT_PREFIX)]

    # -- helpers ----------------------------------------------------------------------------

    def _set_status(self, subject: str, key_id: str, status: str) -> None:
        self._call(
            f"set access key {redact(key_id)} of {subject} {status.lower()}",
            lambda: self._iam.update_access_key(
                UserName=subject, AccessKeyId=key_id, Status=status
            ),
        )

    def _delete_key(self, subject: str, key_id: str) -> None:
        def remove() -> None:
            try:
                self._iam.delete_access_key(UserName=subject, AccessKeyId=key_id)
            except Exception as exc:
                if aws_error_code(exc) != "NoSuchEntity":
                    raise

        self._call(f"delete access key {redact(key_id)} of {subject}", remove)

    def _tags(self, subject: str) -> dict[str, str]:
        listed = self._call(
            f"list tags of {subject}", lambda: self._iam.list_user_tags(UserName=subject)
        )
        return {str(t["Key"]): str(t["Value"]) for t in listed.get("Tags") or []}

    def _tag(self, subject: str, key: str, value: str) -> None:
        self._call(
            f"tag {subject}",
            lambda: self._iam.tag_user(UserName=subject, Tags=[{"Key": key, "Value": value}]),
        )

    def _untag_key(self, subject: str, key_id: str) -> None:
        stale = [
            k
            for k, v in self._tags(subject).items()
            if k.startswith(TAG_PREFIX) and v == "key:" + key_id
        ]
        if stale:
            self._call(
                f"untag {subject}",
                lambda: self._iam.untag_user(UserName=subject, TagKeys=stale),
            )

    def _delete_orphans(self, subject: str, tag: str) -> None:
        """Delete the key an earlier attempt of this step created if its secret died with that
        process: a key never used by anyone. A key that was used means the step completed and
        someone holds the secret: that is reported, never deleted."""
        value = self._tags(subject).get(tag)
        if value is None:
            return
        keys = {k.key_id: k for k in self.list_keys(subject)}
        if value.startswith("key:"):
            orphans = {value[4:]} & set(keys)
        else:
            stamp, _, ids = value.removeprefix("before:").partition(":")
            started = float(stamp or 0)
            orphans = {
                k.key_id
                for k in keys.values()
                if k.key_id not in ids.split(",") and _created_near(k.created, started)
            }
        for key_id in orphans:
            if self.last_used(key_id) is not None:
                raise BackendError(
                    f"access key {redact(key_id)} issued by this step for {subject} is in use",
                    hint="the step already completed; resume from the next step",
                )
            self._delete_key(subject, key_id)
        self._call(
            f"untag {subject}", lambda: self._iam.untag_user(UserName=subject, TagKeys=[tag])
        )


def _created_near(created: str | None, started: float, slack: float = 300.0) -> bool:
    if created is None:
        return False
    try:
        moment = _aware(datetime.fromisoformat(created)).timestamp()
    except ValueError:
        return False
    return started - slack <= moment <= started + slack


def _credentials(data: SecretData) -> SecretData:
    key_id = data.get(ACCESS_KEY_ID) or data.get("AccessKeyId") or data.get("AWS_ACCESS_KEY_ID")
    secret = (
        data.get(SECRET_ACCESS_KEY)
        or data.get("SecretAccessKey")
        or data.get("AWS_SECRET_ACCESS_KEY")
    )
    if not key_id or not secret:
        raise BackendError(
            "the secret holds no AWS access key pair",
            hint=f"expected fields {ACCESS_KEY_ID} and {SECRET_ACCESS_KEY}",
        )
    return {ACCESS_KEY_ID: key_id, SECRET_ACCESS_KEY: secret}


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.astimezone()
