"""Evaluation: test-split metrics, the confusion-matrix report and the robustness variants."""
