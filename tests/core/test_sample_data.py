"""Synthetic nuclei samples: deterministic, realistic enough, and round in physical units."""

import time

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_bioimg._sample_data import make_nuclei, nuclei_2d, nuclei_3d


@pytest.fixture(scope="module")
def sample_2d():
    return nuclei_2d()


@pytest.fixture(scope="module")
def sample_3d():
    return nuclei_3d()


def test_layer_data_2d(sample_2d):
    (image, image_kwargs, image_kind), (labels, labels_kwargs, labels_kind) = sample_2d
    assert (image_kind, labels_kind) == ("image", "labels")
    assert image.shape == labels.shape == (512, 512)
    assert image.dtype == np.uint16
    assert labels.dtype == np.int32
    for kwargs in (image_kwargs, labels_kwargs):
        assert kwargs["scale"] == (0.5, 0.5)
        assert kwargs["units"] == ("µm", "µm")
    assert image_kwargs["name"] == "nuclei 2D"
    assert image_kwargs["metadata"]["seed"] == 0


def test_layer_data_3d(sample_3d):
    (image, image_kwargs, _), (labels, labels_kwargs, _) = sample_3d
    assert image.shape == labels.shape == (32, 256, 256)
    assert image.dtype == np.uint16
    assert labels.dtype == np.int32
    assert image_kwargs["scale"] == labels_kwargs["scale"] == (2.0, 0.5, 0.5)
    assert image_kwargs["units"] == ("µm", "µm", "µm")
    assert image_kwargs["axis_labels"] == labels_kwargs["axis_labels"] == ("z", "y", "x")
    assert image_kwargs["metadata"]["z_spacing_known"] is True


def test_napari_accepts_the_layer_data(sample_3d):
    from napari.layers import Image, Labels

    (image, image_kwargs, _), (labels, labels_kwargs, _) = sample_3d
    image_layer = Image(image, **image_kwargs)
    labels_layer = Labels(labels, **labels_kwargs)
    for layer in (image_layer, labels_layer):
        np.testing.assert_allclose(layer.scale, (2.0, 0.5, 0.5))
        assert all(str(u) == "micrometer" for u in layer.units)
        assert tuple(layer.axis_labels) == ("z", "y", "x")  # (the dims slider reads z)


@pytest.mark.parametrize("function", [nuclei_2d, nuclei_3d])
def test_deterministic(function):
    first, second = function(), function()
    for (a, _, _), (b, _, _) in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    other = function(seed=1)
    assert not np.array_equal(first[0][0], other[0][0])


def test_make_nuclei_seed():
    a = make_nuclei((64, 80), n=4, seed=7)
    b = make_nuclei((64, 80), n=4, seed=7)
    c = make_nuclei((64, 80), n=4, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


@pytest.mark.parametrize("sample", ["sample_2d", "sample_3d"])
def test_labels_match_the_nuclei(request, sample):
    (image, _, _), (labels, kwargs, _) = request.getfixturevalue(sample)
    n = kwargs["metadata"]["n_nuclei"]
    assert n == 30
    assert np.array_equal(np.unique(labels), np.arange(n + 1))
    # Each label is one connected object.
    for index, box in enumerate(ndi.find_objects(labels), start=1):
        _, count = ndi.label(labels[box] == index)
        assert count == 1
    inside = image[labels > 0].mean()
    outside = image[labels == 0].mean()
    assert inside > 2.5 * outside
    # Every nucleus is brighter than the background around it.
    means = ndi.mean(image, labels, np.arange(1, n + 1))
    assert means.min() > np.percentile(image[labels == 0], 90)


def test_image_has_noise_blur_and_uneven_background(sample_2d):
    (image, _, _), (labels, _, _) = sample_2d
    far = ndi.distance_transform_edt(labels == 0) > 30
    background = image.astype(float)[far]
    # Poisson noise: variance of the background about its mean (minus the offset 100).
    smooth = ndi.uniform_filter(image.astype(float), 9)[far]
    residual = background - smooth
    assert 0.5 < residual.var() / (smooth.mean() - 100) < 2.0
    # Uneven: the smoothed background varies by more than the noise.
    assert np.percentile(smooth, 95) - np.percentile(smooth, 5) > 3 * residual.std()
    # Blurred: intensity rises over several pixels at nucleus edges.
    edge = ndi.binary_dilation(labels > 0, iterations=2) & ~(labels > 0)
    assert image[edge].mean() > image[far].mean() + 0.1 * (
        image[labels > 0].mean() - image[far].mean()
    )


def test_3d_nuclei_are_round_in_physical_units(sample_3d):
    _, (labels, kwargs, _) = sample_3d
    dz, dy, dx = kwargs["scale"]
    ratios_zy, ratios_zx = [], []
    for box in ndi.find_objects(labels):
        depth, height, width = (s.stop - s.start for s in box)
        ratios_zy.append(depth * dz / (height * dy))
        ratios_zx.append(depth * dz / (width * dx))
        # Squashed in pixels: fewer slices than rows.
        assert depth < height
    assert np.median(ratios_zy) == pytest.approx(1.0, abs=0.15)
    assert np.median(ratios_zx) == pytest.approx(1.0, abs=0.15)


def test_3d_blur_is_wider_along_z_as_a_microscope_psf():
    # A single nucleus: compare the blurred edge widths along z and x.
    image, labels = make_nuclei(
        (40, 120, 120),
        (2.0, 0.5, 0.5),
        n=1,
        seed=3,
        radius=(8.0, 8.0),
        background=0.0,
        brightness=(10_000.0, 10_000.0),
        offset=0.0,
    )
    zc, yc, xc = (int(round(c)) for c in ndi.center_of_mass(labels))
    profile_z = image[:, yc, xc].astype(float)
    profile_x = image[zc, yc, :].astype(float)

    def rise(profile, step):
        peak = profile.max()
        above = np.nonzero(profile > 0.2 * peak)[0][0]
        top = np.nonzero(profile > 0.8 * peak)[0][0]
        return (top - above) * step

    assert rise(profile_z, 2.0) > rise(profile_x, 0.5)


def test_fast():
    for function in (nuclei_2d, nuclei_3d):
        start = time.perf_counter()
        function()
        assert time.perf_counter() - start < 2.0  # < 1 s on a quiet machine


def test_make_nuclei_pixels_by_default():
    image, labels = make_nuclei((100, 120), n=5, seed=0)
    assert image.shape == labels.shape == (100, 120)
    assert labels.max() == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shape": (10,)}, "2D or 3D"),
        ({"shape": (10, 10), "spacing": (1.0,)}, "spacing"),
        ({"shape": (10, 10), "spacing": (1.0, -1.0)}, "spacing"),
        ({"shape": (10, 10), "n": -1}, "non-negative"),
        ({"shape": (40, 40), "n": 200}, "could not place"),
        ({"shape": (40, 40), "radius": (3.0, 1.0)}, "radius"),
    ],
)
def test_make_nuclei_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_nuclei(**kwargs)
