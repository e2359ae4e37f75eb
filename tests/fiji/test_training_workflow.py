"""The Fiji training workflow across images (issue 16): classes that a macro cannot make up
by a typo."""

from __future__ import annotations

API = "org.phenosort.phenosort.macro.MacroApi"
ANNOTATE = "org.phenosort.phenosort.macro.AnnotateApi.annotate"


def test_a_class_name_typo_is_an_error_naming_the_known_classes(run_macro, tmp_path):
    """AnnotateApi makes no class from an unknown name or index: the call fails (also in
    MacroApi.lastError and the Log) and names the known classes; a classes list adds them."""
    make = (
        'newImage("cells-labels.tif", "16-bit black", 100, 40, 1);\n'
        "for (k = 1; k <= 3; k++) for (y = 10; y < 20; y++) for (x = 0; x < 10; x++)\n"
        "    setPixel(30 * k - 20 + x, y, k);\n"
        'newImage("cells.tif", "8-bit ramp", 100, 40, 1);\n'
    )
    call = f'call("{ANNOTATE}", "cells.tif", "cells-labels.tif"'
    body = make + (
        f'emit("none=" + {call}, "1", "interphase"));\n'
        f'emit("none_error=" + call("{API}.lastError"));\n'
        f'emit("listed=" + {call}, "1", "interphase", "interphase,mitotic"));\n'
        f'emit("listed_error=[" + call("{API}.lastError") + "]");\n'
        f'emit("typo=" + {call}, "2", "Mitotic"));\n'
        f'emit("typo_error=" + call("{API}.lastError"));\n'
        f'emit("index=" + {call}, "2", "3"));\n'
        f'emit("known=" + {call}, "2", "mitotic"));\n'
        f'emit("reorder=" + {call}, "3", "mitotic", "mitotic,interphase"));\n'
        f'emit("added=" + {call}, "3", "apoptotic", "interphase,mitotic,apoptotic"));\n'
        'emit("groups=" + call("ij.gui.Roi.getGroupNames"));\n'
        'emit("overlay=" + Overlay.size);\n'
    )
    result = run_macro(body, mode="headless")
    none = result.value("none")
    assert none.startswith("error: unknown class 'interphase': no classes are known yet"), none
    assert result.value("none_error") == none.removeprefix("error: ")
    assert result.value("listed") == "ok interphase-1 group=1 label=1"
    assert result.value("listed_error") == "[]"
    typo = result.value("typo")
    assert typo.startswith(
        "error: unknown class 'Mitotic': the known classes are interphase (1), mitotic (2) "
        "(names are case-sensitive). New classes are explicit"
    ), typo
    assert result.value("typo_error") == typo.removeprefix("error: ")
    assert "PhenoSort error: unknown class 'Mitotic'" in result.output  # the Log (stdout headless)
    assert result.value("index").startswith("error: class index 3: the known classes are")
    assert result.value("known") == "ok mitotic-2 group=2 label=2"
    reorder = result.value("reorder")
    assert reorder.startswith("error: ") and "give 'interphase' as class 1" in reorder, reorder
    assert result.value("added") == "ok apoptotic-3 group=3 label=3"
    assert result.value("groups") == "interphase,mitotic,apoptotic"
    assert result.value("overlay") == "3"
