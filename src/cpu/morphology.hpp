// Binary and grey morphology of the CPU reference backend.
//
// Binary masks hold 0 or 1. The structuring element is OpenCV's MORPH_ELLIPSE of size
// (2r+1)x(2r+1); outside the image, erosion sees ones and dilation zeros, as OpenCV's
// default border does, so results match cv::erode / cv::dilate exactly.
#pragma once
#include <vector>

#include "cpu/ellipse.hpp"
#include "hemolens/image.hpp"

namespace hemolens::cpu {

void erode(const Plane8& in, Plane8& out, int radius);
void dilate(const Plane8& in, Plane8& out, int radius);
void open(const Plane8& in, Plane8& out, int radius);   // erode then dilate
void close(const Plane8& in, Plane8& out, int radius);  // dilate then erode

// Chamfer (3-4) distance from every pixel to the nearest set pixel of `mask` (3 units per
// pixel step, 4 per diagonal step; a large value when the mask is empty).
Plane32 chamfer_distance(const Plane8& mask);

// Grey-level 3x3 square max / min (borders replicated; the closing of size 2r+1 is r
// dilations followed by r erosions).
void grey_dilate3(const Plane8& in, Plane8& out);
void grey_erode3(const Plane8& in, Plane8& out);

}  // namespace hemolens::cpu
