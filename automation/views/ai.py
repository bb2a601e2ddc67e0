"""Settings > AI (admins): the organization's OpenAI-compatible provider (base URL, API key shown masked and only
replaced, chat and embedding models) and its token usage over the last 30 days. Saved through
automation.services.ai, as settings/ai is; the egress policy's refusal of a base URL shows next to the field."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.web import admin_required
from automation import llm
from automation.models.ai import DEFAULT_CHAT_MODEL
from automation.selectors import ai as selectors
from automation.services import ai as services
from whatsapp_hub.encryption import mask
from whatsapp_hub.errors import ServiceError
from whatsapp_hub.forms import show_service_error

USAGE_DAYS = 30


class AISettingsForm(forms.Form):
    base_url = forms.CharField(
        label=gettext_lazy("API base URL"),
        max_length=500,
        required=False,
        help_text=gettext_lazy(
            "An OpenAI-compatible API (OpenAI, Azure OpenAI, OpenRouter, a vLLM or Ollama server: "
            "http://ollama.internal:11434/v1). Leave it empty for the hub's default. A server on a private network "
            "must be allowed by the hub's operator."
        ),
        widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off", "spellcheck": "false"}),
    )
    api_key = forms.CharField(
        label=gettext_lazy("API key"),
        max_length=1000,
        required=False,
        help_text=gettext_lazy("Stored encrypted and never shown again. Leave it empty to keep the current key."),
        widget=forms.PasswordInput(attrs={"dir": "ltr", "autocomplete": "new-password", "spellcheck": "false"}),
    )
    remove_key = forms.BooleanField(label=gettext_lazy("Remove the API key"), required=False)
    chat_model = forms.CharField(
        label=gettext_lazy("Chat model"),
        max_length=200,
        help_text=gettext_lazy("The model bots answer with, e.g. gpt-4o-mini, or llama3.2 on Ollama."),
        widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off", "spellcheck": "false"}),
    )
    embedding_model = forms.CharField(
        label=gettext_lazy("Embedding model"),
        max_length=200,
        required=False,
        help_text=gettext_lazy(
            "Optional, e.g. text-embedding-3-small: knowledge bases are then also searched by meaning (a question "
            "in English finds an answer written in Arabic). Documents uploaded before are searched by their words "
            "until uploaded again."
        ),
        widget=forms.TextInput(attrs={"dir": "ltr", "autocomplete": "off", "spellcheck": "false"}),
    )

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        arguments = {
            "base_url": data["base_url"],
            "chat_model": data["chat_model"],
            "embedding_model": data["embedding_model"],
        }
        if data["remove_key"]:
            arguments["api_key"] = ""
        elif data["api_key"]:
            arguments["api_key"] = data["api_key"]
        return arguments


@admin_required
def ai_settings(request):
    row = selectors.ai_settings_for(organization_id=request.org.pk)
    initial = {
        "base_url": row.base_url if row else "",
        "chat_model": row.chat_model if row else DEFAULT_CHAT_MODEL,
        "embedding_model": row.embedding_model if row else "",
    }
    form = AISettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.ai_settings_save(organization=request.org, actor=request.user, **form.service_arguments())
        except ServiceError as refused:
            show_service_error(form, refused)
        else:
            messages.success(request, _("AI settings saved."))
            return redirect("ai-settings")
    form.fields["base_url"].widget.attrs["placeholder"] = settings.OPENAI_BASE_URL or ""
    return render(
        request,
        "automation/ai_settings.html",
        {
            "section": "ai",
            "form": form,
            "masked_key": mask(row.api_key) if row else None,
            "configured": llm.is_configured(request.org),
            "embeddings": llm.embeddings_configured(request.org),
            "usage": selectors.ai_usage_report(org=request.org, days=USAGE_DAYS),
        },
    )


urlpatterns = [path("settings/ai/", ai_settings, name="ai-settings")]
