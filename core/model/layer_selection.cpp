#include "layer_selection.h"
#include "arch_table.h"
#include "core/util/error.h"
#include "model.h"

#include <QRegularExpression>

namespace tailor {

std::vector<std::string> linearLayers(const Model& model, const std::string& regex)
{
    const QRegularExpression rx(QString::fromStdString(regex));
    if (!rx.isValid())
        throw Error("layer regex '" + regex + "' does not compile: " + rx.errorString().toStdString());
    std::vector<std::string> out;
    // (a mixture's experts are linear layers too, one per expert and matrix)
    for (int b = 0; b < model.nBlocks(); ++b)
        for (const auto& [r, n] : blockTensorNames(model.config(), b))
            if (roleInfo(r).isLinear || roleInfo(r).perExpert)
                if (regex.empty() || rx.match(QString::fromStdString(n)).hasMatch())
                    out.push_back(n);
    if (out.empty())
        throw Error("layer regex '" + regex + "' matches no linear layer (names look like model.layers.3.mlp.up_proj.weight)");
    return out;
}

} // namespace tailor
