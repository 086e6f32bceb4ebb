#pragma once
namespace hemolens {
inline constexpr const char* kEngineVersion = "0.1.0";
}
