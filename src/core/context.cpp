#include "core/context.h"

#include <nlohmann/json.hpp>
#include <unistd.h>

namespace pgsplit {

void Context::Print(const std::string& rendered) const {
    if (log.Format() != LogFormat::Json) {
        WriteAll(STDOUT_FILENO, rendered);
        return;
    }
    // With JSON logs, stdout carries one JSON object per line and nothing else: a JSON result is
    // compacted onto one line, and text output becomes info lines.
    if (!rendered.empty() && (rendered[0] == '{' || rendered[0] == '[')) {
        auto doc = nlohmann::json::parse(rendered, nullptr, false);
        if (!doc.is_discarded()) {
            WriteAll(STDOUT_FILENO, doc.dump() + "\n");
            return;
        }
    }
    size_t start = 0;
    while (start < rendered.size()) {
        size_t end = rendered.find('\n', start);
        if (end == std::string::npos) {
            end = rendered.size();
        }
        if (end > start) {
            log.Info(rendered.substr(start, end - start));
        }
        start = end + 1;
    }
}

} // namespace pgsplit
