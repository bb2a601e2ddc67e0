"""CRM pages: the pipeline board (static/js/crm-board.js: columns per stage, drag a card or use its "Move to" select,
totals per column, refreshed live on `deal.updated`) and a deal's page with its history. Reads through the selectors;
moves go through the deals API (the same services)."""

from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_safe

from accounts.web import member_required
from crm import selectors, services
from crm.models import Outcome
from crm.serializers import DealSerializer, PipelineSerializer


@require_safe
@member_required
def board(request, pipeline_id: int | None = None):
    services.pipeline_default(organization=request.org)
    pipelines = list(selectors.pipeline_list(org=request.org))
    pipeline = pipelines[0] if pipeline_id is None else next((p for p in pipelines if p.pk == pipeline_id), None)
    if pipeline is None:
        raise Http404
    return render(
        request,
        "crm/board.html",
        {
            "pipelines": pipelines,
            "pipeline": pipeline,
            "pipeline_data": PipelineSerializer(pipeline).data,
        },
    )


@require_safe
@member_required
def deal_detail(request, deal_id: int):
    deal = selectors.deal_list(org=request.org).filter(pk=deal_id).first()
    if deal is None:
        raise Http404
    history = list(selectors.deal_history(deal=deal))
    for entry in history:
        entry.to_status_label = Outcome(entry.to_status).label if entry.to_status in Outcome.values else entry.to_status
    return render(
        request,
        "crm/deal.html",
        {"deal": deal, "data": DealSerializer(deal).data, "history": history},
    )


urlpatterns = [
    path("deals/", board, name="crm-board"),
    path("deals/pipelines/<id:pipeline_id>/", board, name="crm-board-pipeline"),
    path("deals/<id:deal_id>/", deal_detail, name="crm-deal"),
]
