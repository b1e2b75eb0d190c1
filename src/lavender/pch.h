// Precompiled header for the LibTorch translation units (see CMakeLists.txt).
// Only heavy, stable third-party headers belong here, never our own.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>
