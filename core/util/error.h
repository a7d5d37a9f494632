#pragma once
// One error type for everything the engine refuses: the message names the file,
// tensor or key and what was expected. Callers catch once, at
// the job boundary (CLI main, JobRunner).
#include <stdexcept>
#include <string>

namespace tailor {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Thrown when a progress callback asked to stop. Not an error for the user:
// the CLI exits with code 130, the GUI shows "cancelled".
class Cancelled : public std::exception {
public:
    const char* what() const noexcept override { return "cancelled"; }
};

// Prefix an error with the phase it happened in ("reading config.json: ...").
[[noreturn]] void rethrowWithContext(const std::string& context);

} // namespace tailor
