"""Admin pages: a tenant's webhook endpoints, and the delivery log (every attempt)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from jobs.admin_kit import TenantScopedAdminMixin
from jobs.registry import families
from tenancy.access import principal_for
from tenancy.models import Tenant
from webhooks import permissions, services
from webhooks.addresses import AddressRefused, check_url
from webhooks.models import EVENTS, Delivery, Endpoint


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    families = forms.MultipleChoiceField(
        choices=lambda: [(name, name) for name in families.names()],
        widget=forms.CheckboxSelectMultiple,
    )
    events = forms.MultipleChoiceField(
        choices=[(event, event) for event in EVENTS], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Endpoint
        fields = ["tenant", "url", "description", "families", "events", "is_active"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            check_url(url)
        except AddressRefused as refused:
            raise forms.ValidationError(str(refused)) from None
        return url


@admin.register(Endpoint)
class EndpointAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    """Endpoints of the user's tenants: registered, changed and removed through the services."""

    form = EndpointForm
    tenant_read_permission = permissions.READ
    list_display = ["url", "tenant", "is_active", "event_list", "consecutive_failures"]
    list_filter = ["is_active"]
    list_select_related = ["tenant"]
    search_fields = ["url", "description"]
    readonly_fields = [
        "secret_prefix",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
        "created_at",
    ]

    @admin.display(description="events")
    def event_list(self, endpoint: Endpoint) -> str:
        return f"{', '.join(endpoint.events)} of {', '.join(endpoint.families)}"

    def has_add_permission(self, request, obj=None) -> bool:
        return self._holds(request, permissions.WRITE)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._holds(request, permissions.WRITE, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._holds(request, permissions.WRITE, obj)

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "tenant"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tenant":
            scope = principal_for(request).tenant_scope(permissions.WRITE)
            kwargs["queryset"] = Tenant.objects.filter(is_active=True).filter(
                **({} if scope.everything else {"pk__in": scope.ids})
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name != "tenant"}
        if change:
            services.endpoint_update(obj, **fields)
            return
        # The secret lives in this request alone and is rendered once by response_add.
        endpoint, request.jobdesk_secret = services.endpoint_create(
            tenant=form.cleaned_data["tenant"],
            **{name: form.cleaned_data[name] for name in EndpointForm.Meta.fields[1:]},
        )
        obj.pk, obj.encrypted_secret, obj.secret_prefix = (
            endpoint.pk,
            endpoint.encrypted_secret,
            endpoint.secret_prefix,
        )
        obj._state.adding = False

    def delete_model(self, request, obj) -> None:
        services.endpoint_delete(obj)

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "endpoint": obj,
            "secret": request.jobdesk_secret,
            "title": "Webhook endpoint registered",
        }
        response = TemplateResponse(request, "admin/webhooks/endpoint/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        endpoint = self.get_scoped_object(request, object_id)
        if request.method == "GET" and endpoint.disabled_reason and not endpoint.is_active:
            self.message_user(
                request,
                f"{endpoint.disabled_reason} Tick “active” and save to send to it again.",
                messages.WARNING,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        disabled = self.get_queryset(request).exclude(disabled_reason="").filter(is_active=False)
        count = disabled.count()
        if request.method == "GET" and count:
            self.message_user(
                request,
                f"{count} endpoint(s) were disabled because their deliveries kept failing.",
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)


@admin.register(Delivery)
class DeliveryAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    """The delivery log: what was sent where, and how each attempt went (read-only)."""

    tenant_read_permission = permissions.READ
    list_display = [
        "created_at",
        "event",
        "family",
        "job_id",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    ]
    list_filter = ["status", "event", "family"]
    list_select_related = ["endpoint"]
    search_fields = ["job_id", "delivery_id"]
    fields = [
        "delivery_id",
        "tenant",
        "endpoint",
        "family",
        "job_id",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "finished_at",
        "body_text",
        "attempt_table",
    ]
    readonly_fields = fields

    @admin.display(description="body")
    def body_text(self, delivery: Delivery) -> str:
        return format_html("<pre>{}</pre>", bytes(delivery.body).decode("utf-8", "replace"))

    @admin.display(description="attempts")
    def attempt_table(self, delivery: Delivery) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td><td>{}</td></tr>",
            (
                (
                    attempt.number,
                    attempt.at,
                    attempt.status_code or "",
                    attempt.error,
                    attempt.response_excerpt,
                    attempt.next_attempt_at or "",
                )
                for attempt in delivery.attempt_log.all()
            ),
        )
        return format_html(
            "<table><tr><th>#</th><th>at</th><th>status</th><th>error</th><th>response</th>"
            "<th>next attempt</th></tr>{}</table>",
            rows,
        )
