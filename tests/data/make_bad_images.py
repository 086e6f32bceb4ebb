#!/usr/bin/python3
"""Writes tests/data/bad/: damaged and unusual image files made from one bundled sample image,
and expected.csv, what hemolens must say about each (tests/test_bad_images.cpp reads it).

Run it from anywhere to remake the folder (it is committed; CI does not run this):
    /usr/bin/python3 tests/data/make_bad_images.py
Needs Debian's python3-pil (for the PNG, TIFF, BMP and CMYK files). The output is the same
on every run: no randomness, no timestamps.

expected.csv: file,expect. `expect` is `decodes` for files that are valid images of an
unusual kind (CMYK, YCCK, greyscale JPEG) and must give their pixels, otherwise a piece of
the reason the file must be refused with (libjpeg's own message where libjpeg refuses it).
"""
import io
import pathlib
import shutil
import struct
import zlib

from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = ROOT / "data/sample/erythroblast/ERB_424947.jpg"  # 11.9 KB, baseline 4:4:4
OUT = ROOT / "tests/data/bad"


# ---- JPEG segments ----------------------------------------------------------------------

def segments(jpeg):
    """(marker, offset, length) of each segment from SOI up to and including SOS."""
    out, i = [], 2
    while True:
        marker = jpeg[i + 1]
        length = struct.unpack(">H", jpeg[i + 2:i + 4])[0]
        out.append((marker, i, length))
        if marker == 0xDA:
            return out
        i += 2 + length


def find(jpeg, marker):
    return next((off, length) for m, off, length in segments(jpeg) if m == marker)


def patched(jpeg, offset, new_bytes):
    return jpeg[:offset] + new_bytes + jpeg[offset + len(new_bytes):]


def sof_with_size(jpeg, height, width, marker=0xC0):
    off, _ = find(jpeg, 0xC0)
    # SOFn: FF Cn, length(2), precision(1), height(2), width(2), ...
    return patched(patched(jpeg, off + 1, bytes([marker])), off + 5, struct.pack(">HH", height, width))


def jpeg_cases(jpeg):
    dht, dht_len = find(jpeg, 0xC4)
    dqt, _ = find(jpeg, 0xDB)
    sos, sos_len = find(jpeg, 0xDA)
    scan = sos + 2 + sos_len
    cases = {
        "jpeg_truncated_half.jpg": (jpeg[:len(jpeg) // 2], "Premature end of JPEG file"),
        "jpeg_truncated_in_tables.jpg": (jpeg[:dht + 40], "cannot decode the JPEG header"),
        # 16 code counts of 255 each: more codes than a Huffman table can hold.
        "jpeg_bad_huffman_table.jpg": (patched(jpeg, dht + 5, bytes([255] * 16)), "Bogus Huffman table definition"),
        # Quantisation table index 7 (0-3 exist).
        "jpeg_bad_quant_table.jpg": (patched(jpeg, dqt + 4, bytes([0x07])), "Bogus DQT index 7"),
        # A marker code that no JPEG process defines, before the frame header.
        "jpeg_unsupported_marker.jpg": (jpeg[:dqt] + b"\xff\x3b\x00\x04\x00\x00" + jpeg[dqt:], "Unsupported marker type 0x3b"),
        # SOF3: lossless JPEG, which libjpeg-turbo 2.1 does not decode.
        "jpeg_lossless_sof.jpg": (patched(jpeg, find(jpeg, 0xC0)[0] + 1, b"\xc3"), "Unsupported JPEG process: SOF type 0xc3"),
        "jpeg_missing_sos.jpg": (jpeg[:sos] + b"\xff\xd9", "missing SOS marker"),
        "jpeg_zero_height.jpg": (sof_with_size(jpeg, 0, 360), "Empty JPEG image"),
        "jpeg_over_65500_px.jpg": (sof_with_size(jpeg, 65535, 360), "Maximum supported image dimension is 65500 pixels"),
        # Within libjpeg's limits but 3.6 G pixels: refused from the header, before any allocation.
        "jpeg_60000x60000.jpg": (sof_with_size(jpeg, 60000, 60000), "too large"),
        "jpeg_two_soi.jpg": (b"\xff\xd8" + jpeg, "two SOI markers"),
        "jpeg_garbage_after_ffd8ff.jpg": (b"\xff\xd8\xffgarbage", "cannot decode the JPEG header"),
        # The entropy-coded data of the middle rows overwritten: a corrupt scan, not a header.
        "jpeg_corrupt_scan.jpg": (patched(jpeg, scan + (len(jpeg) - scan) // 2, b"\xff\xd4" * 64), "Corrupt JPEG data"),
    }
    assert dht_len > 21
    return cases


# ---- PNG, TIFF and BMP ------------------------------------------------------------------

def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_size(png, width, height):
    ihdr_body = struct.pack(">II", width, height) + png[24:29]
    return png[:8] + png_chunk(b"IHDR", ihdr_body) + png[33:]


def encoded(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def other_cases(img):
    small = img.crop((140, 140, 204, 204))  # 64x64: damaged files need not be large
    png = encoded(small, "PNG")
    tif = encoded(small, "TIFF")
    bmp = encoded(small, "BMP")
    idat = png.index(b"IDAT")
    ifd = struct.unpack("<I", tif[4:8])[0]
    return {
        "png_truncated.png": (png[:len(png) // 2], "corrupt or truncated PNG"),
        "png_bad_crc.png": (patched(png, idat + 20, b"\x00\x00\x00\x00"), "corrupt or truncated PNG"),
        "png_zero_width.png": (png_with_size(png, 0, 64), "zero width or height"),
        "png_100000x100000.png": (png_with_size(png, 100000, 100000), "too large"),
        "tiff_truncated.tif": (tif[:len(tif) // 2], "corrupt or truncated TIFF"),
        "tiff_ifd_past_the_end.tif": (tif[:4] + struct.pack("<I", len(tif) + 4096) + tif[8:], "corrupt or truncated TIFF"),
        "tiff_60000x60000.tif": (tiff_with_size(tif, ifd, 60000, 60000), "too large"),
        "bmp_truncated.bmp": (bmp[:len(bmp) // 2], "corrupt or truncated BMP"),
        "bmp_100000x100000.bmp": (patched(bmp, 18, struct.pack("<ii", 100000, 100000)), "too large"),
        "bmp_7_bits_per_pixel.bmp": (patched(bmp, 28, struct.pack("<H", 7)), "corrupt or truncated BMP"),
    }


def tiff_with_size(tif, ifd, width, height):
    """The same TIFF with its ImageWidth (256) and ImageLength (257) tags changed."""
    out = bytearray(tif)
    count = struct.unpack("<H", tif[ifd:ifd + 2])[0]
    for e in range(count):
        at = ifd + 2 + 12 * e
        tag, kind = struct.unpack("<HH", tif[at:at + 4])
        if tag in (256, 257):
            value = width if tag == 256 else height
            out[at + 8:at + 12] = struct.pack("<I", value) if kind == 4 else struct.pack("<HH", value, 0)
    return bytes(out)


# ---- valid but unusual JPEGs -------------------------------------------------------------

def ycck(cmyk_img):
    """A YCCK JPEG (Photoshop writes these): PIL writes CMYK as CMYK, so the YCCK transform is
    asked of libjpeg through the Adobe marker PIL cannot set; re-encode via TurboJPEG."""
    import ctypes
    tj = ctypes.CDLL("libturbojpeg.so.0")
    tj.tjInitCompress.restype = ctypes.c_void_p
    handle = tj.tjInitCompress()
    # PIL's CMYK JPEGs store inverted values (Adobe); libjpeg writes what it is given, so
    # give it the inverted samples to get the same convention.
    raw = bytes(255 - b for b in cmyk_img.tobytes())
    w, h = cmyk_img.size
    buf, size = ctypes.c_void_p(), ctypes.c_ulong(0)
    TJPF_CMYK, TJSAMP_444 = 11, 0
    rc = tj.tjCompress2(ctypes.c_void_p(handle), raw, w, 0, h, TJPF_CMYK, ctypes.byref(buf), ctypes.byref(size), TJSAMP_444, 90, 0)
    assert rc == 0, "tjCompress2 failed"
    data = ctypes.string_at(buf, size.value)
    tj.tjFree(buf)
    tj.tjDestroy(ctypes.c_void_p(handle))
    return data


def unusual_jpegs(img):
    cmyk = img.convert("CMYK")
    return {
        "jpeg_cmyk.jpg": (encoded(cmyk, "JPEG", quality=90), "decodes"),
        "jpeg_ycck.jpg": (ycck(cmyk), "decodes"),
        "jpeg_grey.jpg": (encoded(img.convert("L"), "JPEG", quality=90), "decodes"),
    }


# ---- files that are no image at all ------------------------------------------------------

def non_images():
    return {
        "empty.jpg": (b"", "empty file"),
        "text.jpg": (b"hello, this is not an image\n", "not an image"),
        "page.png": (b"<!doctype html><title>x</title><p>not a picture</p>\n", "not an image"),
        "archive.tif": (b"PK\x03\x04" + bytes(26), "not an image"),
    }


def main():
    jpeg = SOURCE.read_bytes()
    img = Image.open(SOURCE)
    img.load()
    cases = {**jpeg_cases(jpeg), **other_cases(img), **unusual_jpegs(img), **non_images()}
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():  # keep the README and the macOS file, which are not generated
        if old.name not in ("README.md", ".DS_169665.jpg"):
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    rows = ["file,expect"]
    for name, (data, expect) in sorted(cases.items()):
        (OUT / name).write_bytes(data)
        rows.append(f"{name},{expect}")
    # A folder named like an image (git keeps it through the note inside, which scans ignore).
    (OUT / "directory.jpg").mkdir()
    (OUT / "directory.jpg" / "README.md").write_text("A folder named like an image: hemolens must skip it.\n")
    rows.append("directory.jpg,is a directory")
    rows.append(".DS_169665.jpg,not an image")
    (OUT / "expected.csv").write_text("\n".join(rows) + "\n")
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {len(rows) - 1} cases to {OUT} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
