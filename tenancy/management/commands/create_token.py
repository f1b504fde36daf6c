from tenancy.management.credentials import IssueCredentialCommand
from tenancy.services import token_issue


class Command(IssueCredentialCommand):
    help = "Issue an API token and print its key once (jobdesk stores only a digest)."
    noun = "token"
    example_scope = "PROGRESS:READ"

    def issue(self, **fields) -> str:
        _, raw_key = token_issue(**fields)
        return raw_key
