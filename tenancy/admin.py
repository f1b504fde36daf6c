"""Admin pages for tenants, roles, memberships, API tokens and access keys."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from tenancy.models import AccessKey, ApiToken, Membership, Role, Tenant
from tenancy.permissions import catalogue
from tenancy.services import (
    access_key_issue,
    access_key_revoke,
    check_token_expiry,
    check_token_owner,
    token_issue,
    token_revoke,
)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "project_id", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["slug", "name", "project_id"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at"]


class RoleForm(forms.ModelForm):
    permissions = forms.MultipleChoiceField(
        choices=catalogue.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Ignored for the role named 'admin', which holds every permission.",
    )

    class Meta:
        model = Role
        fields = ["name", "description", "permissions"]


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    form = RoleForm
    list_display = ["name", "description", "permission_list"]
    search_fields = ["name"]

    @admin.display(description="permissions")
    def permission_list(self, role: Role) -> str:
        return ", ".join(sorted(role.granted))


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    list_select_related = ["user", "tenant", "role"]
    search_fields = ["user__username", "tenant__slug", "tenant__name"]
    autocomplete_fields = ["user", "tenant"]


def token_scope_choices() -> list[tuple[str, str]]:
    return [(scope, scope) for scope in sorted(catalogue.token_scopes())]


class ApiTokenAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=token_scope_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave empty for the role's permissions; tick some to narrow the token to them.",
    )

    class Meta:
        model = ApiToken
        fields = ["user", "tenant", "name", "scopes", "expires_at"]

    def clean_scopes(self) -> list[str] | None:
        return self.cleaned_data["scopes"] or None

    def clean(self):
        cleaned = super().clean()
        user, tenant = cleaned.get("user"), cleaned.get("tenant")
        if user is not None and tenant is not None:
            check_token_owner(user=user, tenant=tenant)
        expires_at = cleaned.get("expires_at")
        if expires_at is not None:
            check_token_expiry(expires_at)
        return cleaned


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "tenant", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["tenant"]
    list_select_related = ["user", "tenant"]
    search_fields = ["name", "prefix", "user__username", "tenant__slug"]
    autocomplete_fields = ["user", "tenant"]
    readonly_fields = [
        "user",
        "tenant",
        "name",
        "prefix",
        "scopes",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "created_at",
    ]
    actions = ["revoke_selected"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            return
        # Tokens are made only by the service, which hashes the key; the raw key lives in
        # this request alone and is rendered once by response_add.
        token, raw_key = token_issue(
            user=obj.user,
            tenant=obj.tenant,
            name=obj.name,
            scopes=obj.scopes,
            expires_at=obj.expires_at,
        )
        obj.pk, obj.prefix, obj.digest, obj.created_at = (
            token.pk,
            token.prefix,
            token.digest,
            token.created_at,
        )
        obj._state.adding = False
        request.jobdesk_raw_key = raw_key

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "token": obj,
            "raw_key": request.jobdesk_raw_key,
            "title": "API token created",
        }
        response = TemplateResponse(request, "admin/tenancy/apitoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected tokens")
    def revoke_selected(self, request, queryset):
        for token in queryset:
            token_revoke(token=token)
            self.log_change(request, token, "Revoked.")
        self.message_user(request, f"Revoked {len(queryset)} token(s).", messages.SUCCESS)


class AccessKeyAddForm(ApiTokenAddForm):
    class Meta:
        model = AccessKey
        fields = ["user", "tenant", "name", "scopes", "expires_at"]


@admin.register(AccessKey)
class AccessKeyAdmin(admin.ModelAdmin):
    """AK/SK pairs: the access key id is listed, the secret is shown once, at creation."""

    list_display = [
        "name",
        "access_key_id",
        "user",
        "tenant",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["tenant"]
    list_select_related = ["user", "tenant"]
    search_fields = ["name", "=access_key_id", "user__username", "tenant__slug"]
    autocomplete_fields = ["user", "tenant"]
    # The encrypted secret is never shown, not even encrypted.
    readonly_fields = [
        "user",
        "tenant",
        "name",
        "access_key_id",
        "scopes",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "created_at",
    ]
    fields = readonly_fields
    actions = ["revoke_selected"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = AccessKeyAddForm
            kwargs["fields"] = AccessKeyAddForm.Meta.fields
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return self.fields if obj is not None else AccessKeyAddForm.Meta.fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            return
        # Keys are made only by the service, which encrypts the secret; the secret lives in
        # this request alone and is rendered once by response_add.
        access_key, secret = access_key_issue(
            user=obj.user,
            tenant=obj.tenant,
            name=obj.name,
            scopes=obj.scopes,
            expires_at=obj.expires_at,
        )
        obj.pk, obj.access_key_id, obj.encrypted_secret, obj.created_at = (
            access_key.pk,
            access_key.access_key_id,
            access_key.encrypted_secret,
            access_key.created_at,
        )
        obj._state.adding = False
        request.jobdesk_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "access_key": obj,
            "secret": request.jobdesk_secret,
            "title": "Access key created",
        }
        response = TemplateResponse(request, "admin/tenancy/accesskey/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected access keys")
    def revoke_selected(self, request, queryset):
        for access_key in queryset:
            access_key_revoke(access_key=access_key)
            self.log_change(request, access_key, "Revoked.")
        self.message_user(request, f"Revoked {len(queryset)} access key(s).", messages.SUCCESS)
