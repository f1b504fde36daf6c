from tenancy.management.credentials import IssueCredentialCommand
from tenancy.services import access_key_issue


class Command(IssueCredentialCommand):
    help = (
        "Issue an access key (AK/SK, for Huawei Cloud SDK request signing) and print "
        "'<AK> <SK>' once (jobdesk keeps the secret only encrypted)."
    )
    noun = "key"
    example_scope = "ASSET-JOB:READ"

    def issue(self, **fields) -> str:
        access_key, secret = access_key_issue(**fields)
        return f"{access_key.access_key_id} {secret}"
