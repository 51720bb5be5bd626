"""Segmenting a line into symbols, from pad strokes and from images (no model needed)."""

import numpy as np
import pytest

from trainer.data.expressions import stroke_line
from trainer.serving.reader.segment import SegmentationError, segment_image, segment_strokes, underlines


def place(strokes, x, y, size):
    """Unit-square template strokes scaled to ``size`` at (x, y)."""
    return [[(x + px * size, y + py * size) for px, py in s] for s in strokes]


def segment(strokes, width=4.0):
    return segment_strokes(strokes, [width] * len(strokes))


def groups_of(segmentation):
    return [g.parts for g in segmentation.groups]


def test_multi_stroke_symbols_are_one_symbol_each():
    from trainer.data.strokes import TEMPLATES

    labels = ["add", "eq", "div", "x", "y", "z", "mul"]
    strokes, expected, x = [], [], 0.0
    for label in labels:
        part = place(TEMPLATES[label], x, 0, 60)
        expected.append(list(range(len(strokes), len(strokes) + len(part))))
        strokes += part
        x += 80
    assert groups_of(segment(strokes)) == expected


def test_digits_with_separate_bars():
    four = [[(0.2, 0.1), (0.1, 0.6), (0.8, 0.6)], [(0.6, 0.3), (0.6, 0.95)]]  # 4 in two strokes
    five = [[(0.3, 0.1), (0.25, 0.45), (0.6, 0.45), (0.7, 0.7), (0.3, 0.9)], [(0.3, 0.1), (0.8, 0.1)]]
    seven = [[(0.2, 0.1), (0.8, 0.1), (0.4, 0.9)], [(0.4, 0.5), (0.75, 0.5)]]  # 7 with a cross-bar
    strokes = place(four, 0, 0, 60) + place(five, 80, 0, 60) + place(seven, 160, 0, 60)
    assert groups_of(segment(strokes)) == [[0, 1], [2, 3], [4, 5]]


def test_a_dot_after_a_digit_is_its_own_symbol_and_a_division_sign_keeps_its_dots():
    three = [[(0.2, 0.1), (0.7, 0.2), (0.4, 0.5), (0.75, 0.75), (0.2, 0.95)]]
    strokes = place(three, 0, 0, 60) + [[(52.0, 56.0)]] + place(three, 62, 0, 60)
    strokes += [[(140.0, 30.0), (180.0, 30.0)], [(160.0, 18.0)], [(160.0, 42.0)]]  # ÷
    seg = segment(strokes)
    assert groups_of(seg) == [[0], [1], [2], [3, 4, 5]]
    dot = seg.groups[1]
    assert dot.width < 0.3 * seg.line_height


def test_x_written_as_two_touching_curves_is_one_symbol():
    x = [[(0.3, 0.1), (0.48, 0.5), (0.3, 0.9)], [(0.7, 0.1), (0.52, 0.5), (0.7, 0.9)]]
    ones = [[(0.5, 0.1), (0.5, 0.9)]]
    strokes = place(ones, 0, 0, 60) + place(x, 40, 0, 60) + place(ones, 110, 0, 60)
    assert groups_of(segment(strokes)) == [[0], [1, 2], [3]]


@pytest.mark.parametrize("scale", [0.15, 1.0, 8.0])
def test_any_size_spacing_and_slight_slope(scale):
    rng = np.random.default_rng(3)
    labels = ["1", "2", "div", "4", "add", "3", "dec", "5", "eq"]
    strokes, widths, placed = stroke_line(labels, rng, height=60.0 * scale, pen=4.0 * scale)
    seg = segment_strokes(strokes, widths)
    assert len(seg.groups) == len(labels)
    for g, p in zip(seg.groups, placed, strict=True):
        cx = g.box[0] + g.box[2] / 2
        assert p.box[0] - 1 <= cx <= p.box[0] + p.box[2] + 1


def test_two_lines_of_writing_are_refused():
    one = [[(0.5, 0.1), (0.5, 0.9)]]
    strokes = place(one, 0, 0, 60) + place(one, 50, 0, 60) + place(one, 5, 100, 60) + place(one, 55, 100, 60)
    with pytest.raises(SegmentationError, match="more than one line"):
        segment(strokes)


def test_stacked_bars_are_one_symbol_but_bars_side_by_side_are_two():
    bars = [[(0.0, 30.0), (40.0, 30.0)], [(2.0, 44.0), (38.0, 44.0)]]  # '=' (or two stacked minus strokes)
    digit = [[(70.0, 10.0), (70.0, 70.0)]]
    assert groups_of(segment(bars + digit)) == [[0, 1], [2]]
    apart = [[(0.0, 40.0), (30.0, 40.0)], [(50.0, 40.0), (80.0, 40.0)]]
    assert groups_of(segment(apart + [[(110.0, 10.0), (110.0, 70.0)]])) == [[0], [1], [2]]


def _line_image(labels, seed, ink=(0, 0, 0), paper=(255, 255, 255), height=50.0):
    """A stroke line rasterised: what a photo or scan of the same writing gives."""
    import cv2

    rng = np.random.default_rng(seed)
    strokes, widths, placed = stroke_line(labels, rng, height=height, pen=4.0)
    pts = np.concatenate([np.asarray(s) for s in strokes])
    w, h = int(pts[:, 0].max() + 40), int(pts[:, 1].max() + 40)
    alpha = np.zeros((h, w), np.uint8)
    for s, width in zip(strokes, widths, strict=True):
        p = np.round(np.asarray(s)).astype(np.int32)
        if len(p) == 1:
            cv2.circle(alpha, tuple(int(v) for v in p[0]), round(width / 2), 255, -1, cv2.LINE_AA)
        else:
            cv2.polylines(alpha, [p], False, 255, round(width), cv2.LINE_AA)
    a = alpha[:, :, None] / 255.0
    image = np.array(paper) * (1 - a) + np.array(ink) * a
    return image.astype(np.uint8), placed


@pytest.mark.parametrize(
    "ink, paper", [((0, 0, 0), (255, 255, 255)), ((200, 30, 30), (250, 240, 190)), ((240, 240, 240), (20, 20, 30))]
)
def test_images_group_ink_components_the_same_way_in_any_colour(ink, paper):
    labels = ["7", "div", "2", "dec", "5", "sub", "x", "eq", "1", "0"]
    image, placed = _line_image(labels, seed=4, ink=ink, paper=paper)
    seg = segment_image(image)
    assert len(seg.groups) == len(labels)
    for g, p in zip(seg.groups, placed, strict=True):
        assert abs(g.box[0] - p.box[0]) < 6 and abs(g.box[2] - p.box[2]) < 12
    for crop in seg.crops:  # each crop: dark ink on white paper, ready for the preprocessing
        assert crop.dtype == np.uint8 and crop[0, 0].tolist() == [255, 255, 255] and crop.min() < 100


def test_a_large_image_keeps_its_small_dots():
    image, placed = _line_image(["1", "dec", "5", "div", "2"], seed=5, height=300.0)
    assert len(segment_image(image).groups) == 5


def test_blank_image_has_no_symbols():
    assert segment_image(np.full((80, 200, 3), 255, np.uint8)).groups == []


def test_an_equals_sign_alone_is_one_symbol_however_far_apart_its_bars():
    """Bars say nothing of the line height: a lone big '=' is not two lines of writing."""
    bars = [[(0.0, 100.0), (150.0, 100.0)], [(0.0, 150.0), (150.0, 150.0)]]
    assert groups_of(segment(bars, width=12.0)) == [[0, 1]]


def test_a_five_with_a_detached_top_bar_is_one_symbol():
    body = [[(0.3, 0.15), (0.25, 0.5), (0.6, 0.45), (0.75, 0.7), (0.5, 0.95), (0.2, 0.9)]]
    bar = [[(0.45, 0.1), (0.95, 0.08)]]  # to the right of the body, over less than half of it
    one = [[(0.5, 0.1), (0.5, 0.95)]]
    strokes = place(one, 0, 0, 60) + place(body, 40, 0, 60) + place(bar, 40, 0, 60) + place(one, 120, 0, 60)
    assert groups_of(segment(strokes)) == [[0], [1, 2], [3]]


def test_a_five_whose_bar_starts_over_its_corner_and_runs_on_keeps_it():
    """Other writers' 5s (MNIST's): the detached bar overlaps the body by a corner only, and belongs to it."""
    body = [[(0.3, 0.15), (0.25, 0.5), (0.6, 0.45), (0.75, 0.7), (0.5, 0.95), (0.2, 0.9)]]
    bar = [[(0.68, 0.1), (1.3, 0.08)]]
    one = [[(0.5, 0.1), (0.5, 0.95)]]
    strokes = place(one, 0, 0, 60) + place(body, 40, 0, 60) + place(bar, 40, 0, 60) + place(one, 140, 0, 60)
    assert groups_of(segment(strokes)) == [[0], [1, 2], [3]]


def test_a_raised_point_is_kept_but_a_dot_above_the_line_is_a_stray_mark():
    one = [[(0.5, 0.1), (0.5, 0.95)]]
    strokes = place(one, 0, 0, 60) + [[(50.0, 57.0)]] + place(one, 60, 0, 60) + [[(110.0, 30.0)]]
    strokes += place(one, 120, 0, 60) + [[(170.0, -12.0)]] + place(one, 180, 0, 60)
    # "1.1" on the baseline, "1·1" at mid-height (a British decimal point), and the dot over the line is gone
    assert groups_of(segment(strokes)) == [[0], [1], [2], [3], [4], [6]]


def test_in_an_image_a_raised_dot_must_be_pen_wide_but_a_speck_on_the_baseline_may_be_smaller():
    import cv2

    image = np.full((120, 500, 3), 255, np.uint8)
    for x in (40, 140, 240, 340, 440):
        cv2.line(image, (x, 20), (x, 100), (0, 0, 0), 5)  # five 1s, pen 5 px
    cv2.circle(image, (90, 60), 4, (0, 0, 0), -1)  # a pen-wide point at mid-height: "1·1"
    cv2.rectangle(image, (189, 58), (192, 61), (0, 0, 0), -1)  # a smaller mark at mid-height: a speck
    cv2.rectangle(image, (289, 96), (292, 99), (0, 0, 0), -1)  # a point as small on the baseline stays
    cv2.rectangle(image, (388, 53), (392, 65), (0, 0, 0), -1)  # a point written as a short tick
    boxes = [g.box for g in segment_image(image).groups]
    centres = [round(b[0] + b[2] / 2) for b in boxes]
    assert len(boxes) == 8 and 85 <= centres[1] <= 95 and 286 <= centres[4] <= 296 and 385 <= centres[6] <= 395


def test_halves_side_by_side_are_offered_as_one_symbol_and_can_be_merged():
    """An x written as )( whose halves do not touch: the reader tries them together too (the model decides)."""
    halves = [[(0.3, 0.2), (0.42, 0.5), (0.3, 0.9)], [(0.7, 0.2), (0.58, 0.5), (0.7, 0.9)]]
    one = [[(0.5, 0.1), (0.5, 0.95)]]
    seg = segment(place(one, 0, 0, 60) + place(halves, 40, 10, 45) + place(one, 110, 0, 60))
    assert groups_of(seg) == [[0], [1], [2], [3]] and seg.close_pairs() == [1]
    seg.merge(1, seg.crop_of([1, 2]))
    assert groups_of(seg) == [[0], [1, 2], [3]] and len(seg.crops) == 3
    spaced = segment(place(one, 0, 0, 60) + place(one, 30, 0, 60) + place(one, 60, 0, 60))
    assert spaced.close_pairs() == []


def test_crops_are_rendered_only_from_min_symbols_on():
    from trainer.data.strokes import TEMPLATES

    one = place(TEMPLATES["add"], 0, 0, 60)  # two strokes, one symbol
    two = one + place(TEMPLATES["eq"], 100, 0, 60)
    assert len(segment(one).crops) == 1  # by default every symbol gets its crop
    lone = segment_strokes(one, [4.0] * len(one), min_symbols=2)
    assert len(lone.groups) == 1 and lone.crops == []  # the pad's single symbol: no crop it would not use
    pair = segment_strokes(two, [4.0] * len(two), min_symbols=2)
    assert len(pair.crops) == len(pair.groups) == 2
    assert np.array_equal(pair.crops[0], segment(two).crops[0])


def test_neighbours_whose_ink_touches_are_two_symbols():
    """A broad pen's ink says nothing of which symbol a stroke belongs to: three 1s 5 px apart on a 60 px line
    whose 12 px ink (capped at a tenth of their 48 px height) touches stay three, offered to the model as pairs."""
    one = [[(0.5, 0.1), (0.5, 0.9)]]
    seg = segment(place(one, 0, 0, 60) + place(one, 5, 0, 60) + place(one, 10, 0, 60), width=12.0)
    assert groups_of(seg) == [[0], [1], [2]] and seg.near == [0, 1]
    crossing = place([[(0.2, 0.5), (0.8, 0.5)], [(0.5, 0.2), (0.5, 0.8)]], 40, 0, 60)
    assert groups_of(segment(place(one, 0, 0, 60) + crossing, width=12.0)) == [[0], [1, 2]]


def test_strokes_that_nearly_meet_are_a_near_pair_and_a_dot_never_is():
    y = [[(0.18, 0.18), (0.46, 0.48)], [(0.74, 0.15), (0.36, 0.9)]]  # the arm stops short of the stem
    seg = segment(place(y, 0, 0, 100))
    assert groups_of(seg) == [[0], [1]] and seg.near == [0]
    seg.merge(0, seg.crop_of([0, 1]))
    assert groups_of(seg) == [[0, 1]] and seg.near == []
    one = [[(0.5, 0.1), (0.5, 0.9)]]
    point = segment(place(one, 0, 0, 60) + [[(36.0, 52.0)]])
    assert groups_of(point) == [[0], [1]] and point.near == []


def test_neighbours_whose_strokes_meet_are_one_group_that_may_be_cut_in_two():
    from trainer.data.strokes import TEMPLATES

    one = [[(0.5, 0.1), (0.5, 0.9)]]
    seven = [[(0.1, 0.1), (0.9, 0.1), (0.4, 0.9)]]
    seg = segment(place(one, 0, 0, 60) + place(seven, 25, 0, 60))  # the 7's bar starts 1 px from the 1's top
    assert groups_of(seg) == [[0, 1]] and [(c.group, c.pieces) for c in seg.cuts] == [(0, [[0], [1]])]
    seg.split(seg.cuts[0], [seg.crop_of([0]), seg.crop_of([1])])
    assert groups_of(seg) == [[0], [1]] and len(seg.crops) == 2 and seg.groups[0].box[0] < seg.groups[1].box[0]
    for label in ("add", "eq", "div", "mul", "4", "5", "7"):  # strokes that share columns are never cut apart
        assert segment(place(TEMPLATES[label], 0, 0, 60)).cuts == []


def test_three_neighbours_whose_strokes_meet_may_be_cut_in_three():
    one = [[(0.5, 0.1), (0.5, 0.9)]]
    seven = [[(0.1, 0.1), (0.9, 0.1), (0.4, 0.9)]]
    seg = segment(place(one, 0, 0, 60) + place(seven, 25, 0, 60) + place(one, 50, 0, 60))  # the 7 touches both
    assert groups_of(seg) == [[0, 1, 2]]
    assert sorted(c.pieces for c in seg.cuts) == [[[0], [1], [2]], [[0], [1, 2]], [[0, 1], [2]]]
    three = next(c for c in seg.cuts if len(c.pieces) == 3)
    seg.split(three, [seg.crop_of(piece) for piece in three.pieces])
    assert groups_of(seg) == [[0], [1], [2]] and len(seg.crops) == 3


def test_a_scribble_of_many_touching_strokes_is_only_tried_in_two_pieces():
    zigzag = [[(10 + 20 * i, 10 + 60 * (i % 2)), (30 + 20 * i, 70 - 60 * (i % 2))] for i in range(10)]
    seg = segment(zigzag)  # each stroke starts where the last one ended: one group of ten strokes
    assert groups_of(seg) == [list(range(10))] and seg.cuts
    assert all(len(c.pieces) == 2 for c in seg.cuts)
    assert any(len(c.pieces) == 3 for c in segment(zigzag[:6]).cuts)


def test_touching_ink_in_an_image_is_one_group_cut_at_its_thinnest_column():
    import cv2

    image = np.full((80, 140, 3), 255, np.uint8)
    cv2.polylines(image, [np.array([[30, 10], [30, 70]], np.int32)], False, (0, 0, 0), 4)  # a 1
    cv2.polylines(image, [np.array([[31, 10], [80, 10], [50, 70]], np.int32)], False, (0, 0, 0), 4)  # a 7 on it
    seg = segment_image(image)
    assert len(seg.groups) == 1 and len(seg.groups[0].parts) == 2 and len(seg.cuts) == 1
    cut = seg.cuts[0]
    left, right = cut.boxes
    assert len(cut.pieces) == 2 and left[0] < right[0] and left[0] + left[2] <= right[0] + 1
    seg.split(cut, [seg.crop_of(piece) for piece in cut.pieces])
    assert len(seg.groups) == 2 and len(seg.crops) == 2
    blob = np.full((80, 140, 3), 255, np.uint8)
    cv2.ellipse(blob, (70, 40), (40, 20), 0, 0, 360, (0, 0, 0), -1)  # a big filled point is never cut
    assert segment_image(blob).cuts == []


def test_touching_ink_as_wide_as_two_symbols_leaves_a_bar_only_where_a_minus_stands():
    import cv2

    def cut_bars(bar_y: int) -> list:
        image = np.full((100, 200, 3), 255, np.uint8)
        for stroke in ([[20, 20], [20, 80]], [[150, 20], [150, 80]], [[70, bar_y], [150, bar_y]]):  # 1, bar into a 1
            cv2.polylines(image, [np.array(stroke, np.int32)], False, (0, 0, 0), 4)
        seg = segment_image(image)
        assert len(seg.groups) == 2
        return [b for c in seg.cuts for b in c.boxes if b[3] < 0.5 * seg.line_height]

    assert cut_bars(50)  # a minus run into the 1 beside it: mid-height
    assert cut_bars(78) == []  # a digit's foot (the tail of a 6, a 2's base): never a minus


def test_an_equals_sign_written_small_is_one_symbol_though_a_bar_is_as_short_as_a_point():
    one = [[(0.5, 0.1), (0.5, 0.95)]]
    small_equals = [[(62.0, 40.0), (72.0, 40.0)], [(60.0, 48.0), (74.0, 48.0)]]  # bars 10 and 14 px, line 60
    strokes = place(one, 0, 0, 60) + small_equals + place(one, 100, 0, 60)
    assert groups_of(segment(strokes)) == [[0], [1, 2], [3]]


def test_a_bar_below_the_line_is_an_underline_unless_it_is_the_lower_bar_of_an_equals_sign():
    digits = [(0, 0, 30, 60), (40, 0, 30, 60), (80, 2, 30, 58)]  # standing on y = 60
    underline = (0, 66, 110, 4)
    minus = (120, 30, 25, 4)
    low_equals = [(150, 58, 25, 4), (150, 68, 25, 4)]  # an "=" written low: its lower bar has a partner
    tall_equals = [(190, 22, 45, 4), (190, 66, 45, 4)]  # its bars far apart, the lower one under the line
    boxes = [*digits, underline, minus, *low_equals, *tall_equals]
    assert underlines(boxes) == {3}
    assert underlines([underline, minus]) == set()  # no line to stand on: nothing is below it
