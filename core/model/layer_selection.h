#pragma once
// Which linear weight matrices an analysis acts on: the blocks' q k v o gate
// up down, optionally filtered by a regex searched in the tensor name.
#include <string>
#include <vector>

namespace tailor {

class Model;

// Names in block order; throws if the regex does not compile or matches nothing.
std::vector<std::string> linearLayers(const Model& model, const std::string& regex);

} // namespace tailor
