"""Memory next to the yardstick: the peak of a bare client that does nothing but
VM.get_all_records, under the same interpreter, on the same pool."""
from .adoption import run_bare


def bare_listing(python, sim):
    result, _ = run_bare(python, sim, "list")
    return {"rss_mb": result["rss_mb"], "peak_mb": result["peak_mb"],
            "rss_before_listing_mb": result["rss_before_mb"]}
