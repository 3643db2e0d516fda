"""The figures of the database a scrape of the metrics shows (``domain/gauges.py``), read in
one read-only unit of work: the scrape pays a few aggregate statements, a payment none."""

from __future__ import annotations

from ips.domain.gauges import Figures
from ips.services.clock import Clock, utc_now
from ips.services.unit_of_work import UnitOfWorkFactory


async def read_figures(uow_factory: UnitOfWorkFactory, clock: Clock = utc_now) -> Figures:
    async with uow_factory(readonly=True) as uow:
        gauges = uow.gauges
        return Figures(
            notifications=await gauges.notifications(),
            webhooks=await gauges.webhooks(),
            holds=tuple(await gauges.holds()),
            batches=tuple(await gauges.batches()),
            differences=tuple(await gauges.differences()),
            at=clock(),
        )
