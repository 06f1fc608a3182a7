"""Writing pictures: PNG grids of samples.

Pictures are uint8 grey values 0..255, (N, S, S) for grey or (N, S, S, 3) for colour.
"""

import math

import numpy as np

from rnn_draw.library import atomic_write, sizes


def enlarge(picture, size):
    """One picture (S, S[, C]) scaled to (size, size[, C]) with square pixels (nearest neighbour)."""
    from PIL import Image

    return np.asarray(Image.fromarray(picture).resize((size, size), Image.NEAREST))


def check_fits(count, columns, size, channels=1, frames=1, border=2):
    """Refuse, before any work, a picture of `count` tiles (or an animation of `frames` of them) that
    would not fit in memory: one line naming what it would need."""
    rows = math.ceil(count / columns)
    width, height = columns * (size + border) + border, rows * (size + border) + border
    what = f"a {width}x{height} picture" + (f" animated in {frames} frames" if frames > 1 else "")
    sizes.require(2 * frames * width * height * channels, what)  # the canvas and its encoded copy


def tile(pictures, columns, size, border=2, background=128):
    """Pictures (N, S, S[, C]) enlarged to `size` and laid out in rows of `columns`, with borders."""
    rows = math.ceil(len(pictures) / columns)
    cell = size + border
    check_fits(len(pictures), columns, size, math.prod(pictures.shape[3:]), border=border)
    canvas = np.full((rows * cell + border, columns * cell + border) + pictures.shape[3:], background, np.uint8)
    for index, picture in enumerate(pictures):
        top, left = border + (index // columns) * cell, border + (index % columns) * cell
        canvas[top : top + size, left : left + size] = enlarge(picture, size)
    return canvas


def save_png(canvas, path):
    from PIL import Image

    atomic_write(path, lambda tmp: Image.fromarray(canvas).save(tmp, format="PNG"))


def save_grid(pictures, path, output_size):
    """Write pictures (N, S, S[, 3]) as a square PNG grid, each enlarged to output_size pixels."""
    save_png(tile(np.asarray(pictures), math.ceil(math.sqrt(len(pictures))), output_size), path)


def hide_after(pictures, visible_pixels, fill=128):
    """Copies of pictures (N, S, S[, C]) with every pixel from `visible_pixels` on (raster order)
    painted `fill`: a masked input, or a frame of a drawing in progress."""
    out = np.array(pictures, copy=True)
    flat = out.reshape(len(out), -1, *out.shape[3:])  # (N, S*S[, C]), a view of out
    flat[:, visible_pixels:] = fill
    return out


def save_strip(masked, completions, truth, path, output_size):
    """One PNG row: the masked input | its completions | the ground truth. Each (S, S[, C])."""
    row = np.concatenate([masked[None], completions, truth[None]])
    save_png(tile(row, len(row), output_size), path)


def save_gif(frames, path, frame_ms=120, last_ms=1500):
    """Frames (F, H, W[, 3]) uint8 as a looping animated GIF; the last frame lingers."""
    from PIL import Image

    images = [Image.fromarray(frame) for frame in frames]
    durations = [frame_ms] * (len(images) - 1) + [last_ms]

    def write(tmp):
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)

    atomic_write(path, write)


def drawing_frames(pictures, columns, output_size, first_row=0):
    """Frames of pictures (N, S, S[, C]) being drawn row by row, from `first_row` to the end:
    (S - first_row + 1, H, W[, C]), one frame per row (not per pixel, so files stay small)."""
    size = pictures.shape[1]
    check_fits(len(pictures), columns, output_size, math.prod(pictures.shape[3:]), frames=size - first_row + 1)
    return np.stack(
        [tile(hide_after(pictures, row * size), columns, output_size) for row in range(first_row, size + 1)]
    )


def save_confusion_png(report, path, cell=36):
    """The report's confusion matrix as a PNG heat map: rows true class, columns predicted, counts written in."""
    from PIL import Image, ImageDraw

    matrix = np.asarray(report["confusion_matrix"], dtype=np.float64)
    names = report["class_names"]
    margin = 8 + 7 * max(len(name) for name in names)
    side = margin + cell * len(names) + 4
    canvas = Image.new("RGB", (side, side + 16), "white")
    draw = ImageDraw.Draw(canvas)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    for row, name in enumerate(names):
        draw.text((4, margin + row * cell + cell // 3), name, fill="black")
        draw.text((margin + row * cell + 4, margin - 14), name[:5], fill="black")
        for column in range(len(names)):
            shade = int(255 * (1 - shares[row, column]))
            box = (margin + column * cell, margin + row * cell, margin + (column + 1) * cell - 1, margin + (row + 1) * cell - 1)
            draw.rectangle(box, fill=(shade, shade, 255))
            draw.text((box[0] + 4, box[1] + cell // 3), str(int(matrix[row, column])), fill="black" if shade > 110 else "white")
    draw.text((4, side), f"accuracy {report['accuracy']:.4f}  (rows: true, columns: predicted)", fill="black")
    atomic_write(path, lambda tmp: canvas.save(tmp, format="PNG"))
