"""A file's data set re-encoded in Explicit or Implicit VR Little Endian, for a peer that accepts
nothing else for its SOP class.

Deflated and little endian files only need re-encoding. Compressed pixel data is decoded with
pydicom's decoders as raw buffers (iter_buffer), which needs no NumPy for RLE and uses
pylibjpeg, openjpeg or GDCM for the JPEG family where they are installed. The SOP Instance UID
is kept: it is the same instance, sent in another encoding (as dcmtk's storescu does when it
decompresses). Big endian files are refused: pydicom does not swap OW/OF values between byte
orders, and a silently wrong image is worse than an instance that fails with its reason.
"""

from __future__ import annotations

from pathlib import Path

from .plan import IMPLICIT_LITTLE

EXPLICIT_BIG = "1.2.840.10008.1.2.2"


class ConversionError(Exception):
    """Why a file cannot be converted, in words."""


def convert(path: Path, target: str) -> bytes:
    """The data set of the Part 10 file `path` (no file meta) encoded in `target`, one of the little endian
    uncompressed syntaxes."""
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset
    from pydicom.uid import UID

    try:
        ds = dcmread(path)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise ConversionError(f"pydicom cannot read the file ({exc})") from None
    source = UID(ds.file_meta.TransferSyntaxUID)
    if source == EXPLICIT_BIG:
        raise ConversionError("it is big endian, which dicomtui does not convert")
    if source.is_compressed and "PixelData" in ds:
        _decompress(ds, source)
    out = DicomBytesIO()
    out.is_little_endian, out.is_implicit_VR = True, target == IMPLICIT_LITTLE
    try:
        write_dataset(out, ds)
    except Exception as exc:  # noqa: BLE001 - pydicom's writer fails in many ways on odd data sets
        raise ConversionError(f"pydicom cannot write it as {UID(target).name} ({exc})") from None
    return out.getvalue()


def _decompress(ds, source) -> None:
    """Pixel data decoded in place, as pydicom's own decompress() does but without NumPy."""
    from pydicom.pixels import get_decoder
    from pydicom.valuerep import VR

    try:
        decoder = get_decoder(source)
    except NotImplementedError:
        raise ConversionError(f"pydicom has no decoder for {source.name}") from None
    if not decoder.is_available:
        missing = "; ".join(decoder.missing_dependencies)
        raise ConversionError(f"pydicom cannot decode {source.name} here (missing: {missing})")
    frames, meta = [], {}
    try:
        for buffer, frame_meta in decoder.iter_buffer(ds):
            frames.append(bytes(buffer))
            meta = frame_meta  # every frame's is the same: the last one describes the result
    except Exception as exc:  # noqa: BLE001 - decoders raise anything from corrupt or unusual streams
        raise ConversionError(f"pydicom could not decode its {source.name} pixel data ({exc})") from None
    value = b"".join(frames)
    if len(value) % 2:
        value += b"\x00"
    element = ds["PixelData"]
    element.value, element.is_undefined_length = value, False
    element.VR = VR.OB if ds.BitsAllocated <= 8 else VR.OW
    if meta.get("photometric_interpretation"):
        ds.PhotometricInterpretation = meta["photometric_interpretation"]
    if int(meta.get("samples_per_pixel", 1)) > 1 and "planar_configuration" in meta:
        ds.PlanarConfiguration = meta["planar_configuration"]
    if "NumberOfFrames" in ds or len(frames) > 1:
        ds.NumberOfFrames = len(frames)
