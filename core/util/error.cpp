#include "error.h"

namespace tailor {

void rethrowWithContext(const std::string& context)
{
    try {
        throw;
    } catch (const Cancelled&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(context + ": " + e.what());
    }
}

} // namespace tailor
