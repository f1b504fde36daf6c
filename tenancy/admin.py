"""Admin pages for tenancy, and the mixin that scopes any tenant-owned model admin."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from tenancy.access import principal_for
from tenancy.models import ApiToken, Membership, Role, Tenant
from tenancy.permissions import TOKEN_SCOPES, Perm
from tenancy.services import check_token_expiry, check_token_owner, token_issue, token_revoke


class TenantScopeFilter(admin.SimpleListFilter):
    """Filter by tenant, offering only the tenants the staff user may see."""

    title = "tenant"
    parameter_name = "tenant"

    def lookups(self, request, model_admin):
        scope = principal_for(request).tenant_scope(model_admin.tenant_read_permission)
        tenants = Tenant.objects.all()
        if not scope.everything:
            tenants = tenants.filter(pk__in=scope.ids)
        return [(str(tenant.pk), tenant.name) for tenant in tenants]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(tenant_id=int(value))


class TenantScopedAdminMixin:
    """Scope a tenant-owned model's admin to the staff user's memberships.

    A staff user sees rows of tenants where a membership grants `tenant_read_permission`,
    and may cancel where it grants `tenant_cancel_permission`; superusers see everything.
    Job rows are written only by services, so add, change and delete are off.
    """

    tenant_read_permission: str
    tenant_cancel_permission: str | None = None

    def get_queryset(self, request):
        queryset = self.model.objects.visible_to(
            principal_for(request), self.tenant_read_permission
        )
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def _holds(self, request, permission: str | None, obj=None) -> bool:
        if permission is None or not (request.user.is_active and request.user.is_staff):
            return False
        principal = principal_for(request)
        if obj is None:
            return principal.holds_anywhere(permission)
        return principal.holds(permission, obj.tenant_id)

    def has_module_permission(self, request) -> bool:
        return self._holds(request, self.tenant_read_permission)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._holds(request, self.tenant_read_permission, obj)

    def has_cancel_permission(self, request, obj=None) -> bool:
        return self._holds(request, self.tenant_cancel_permission, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def progress_bar(fraction: float | None) -> str:
    """Render a job's completion (0..1, or None when unknown) as an HTML progress bar."""
    if fraction is None:
        return format_html('<progress max="100" title="not reported"></progress>')
    percent = max(0.0, min(100.0, fraction * 100))
    return format_html(
        '<progress max="100" value="{}" title="{}%"></progress> {}%',
        f"{percent:.0f}",
        f"{percent:.1f}",
        f"{percent:.0f}",
    )


class CancelJobsAdminMixin(TenantScopedAdminMixin):
    """A "Cancel selected" bulk action and a cancel button on the detail page.

    Subclasses implement `cancel_job(request, obj) -> bool` (call the family's cancel service;
    True if this call cancelled the job) and `is_cancellable(obj)` (the job is still pending).
    Both paths check `has_cancel_permission` per object and record the change in the history.
    """

    change_form_template = "admin/jobdesk/cancellable_change_form.html"
    actions = ["cancel_selected"]

    def cancel_job(self, request, obj) -> bool:
        raise NotImplementedError

    def is_cancellable(self, obj) -> bool:
        raise NotImplementedError

    @admin.action(permissions=["cancel"], description="Cancel selected jobs")
    def cancel_selected(self, request, queryset):
        cancelled = unchanged = 0
        for obj in queryset:
            if self.has_cancel_permission(request, obj) and self.cancel_job(request, obj):
                self.log_change(request, obj, "Cancelled.")
                cancelled += 1
            else:
                unchanged += 1
        self.message_user(request, f"Cancelled {cancelled} job(s).", messages.SUCCESS)
        if unchanged:
            self.message_user(
                request,
                f"{unchanged} job(s) were already finished or not yours to cancel; "
                "they are unchanged.",
                messages.WARNING,
            )

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        cancel = path(
            "<path:object_id>/cancel/",
            self.admin_site.admin_view(self.cancel_view),
            name="{}_{}_cancel".format(*info),
        )
        return [cancel, *super().get_urls()]

    def cancel_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with id {object_id!r}.")
        if not self.has_cancel_permission(request, obj):
            raise PermissionDenied
        if self.cancel_job(request, obj):
            self.log_change(request, obj, "Cancelled.")
            self.message_user(request, f"Cancelled {obj}.", messages.SUCCESS)
        else:
            self.message_user(request, f"{obj} had already finished; unchanged.", messages.WARNING)
        info = self.opts.app_label, self.opts.model_name
        return HttpResponseRedirect(
            reverse(
                "admin:{}_{}_change".format(*info), args=[obj.pk], current_app=self.admin_site.name
            )
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["show_cancel"] = (
            obj is not None
            and self.is_cancellable(obj)
            and self.has_cancel_permission(request, obj)
        )
        if context["show_cancel"]:
            info = self.opts.app_label, self.opts.model_name
            context["cancel_url"] = reverse(
                "admin:{}_{}_cancel".format(*info), args=[obj.pk], current_app=self.admin_site.name
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "project_id", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["slug", "name", "project_id"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at"]


class RoleForm(forms.ModelForm):
    permissions = forms.MultipleChoiceField(
        choices=Perm.choices,
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


class ApiTokenAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in sorted(TOKEN_SCOPES)],
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
