// `capstan server` and `capstan admin ...`: the verbs that run or administer a server on this
// host (every other verb is an API client).
#pragma once

namespace capstan::cli {

// capstan server [--data-dir DIR] [--listen HOST:PORT] [--token-file F] [--log-level L]
//                [--log-format text|json] [--event-log-max-events N] [--event-log-max-age SECS]
// Runs until SIGTERM or SIGINT, then shuts down cleanly. Returns the exit code.
int RunServerCommand(int argc, char** argv);

// capstan admin backup [--data-dir DIR] OUT
// An online backup: through the running server when it holds the data dir, else directly.
int RunAdminCommand(int argc, char** argv);

}  // namespace capstan::cli
