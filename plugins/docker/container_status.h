// Docker's view of a container (GET /containers/{id}/json, the "die" event) as the ABI's
// ContainerStatus.
//
// States: "created" is waiting (ContainerCreating), unless its start failed (State.Error set:
// terminated, reason StartError, docker's exit code or 128); "running", "paused" and
// "restarting" are running (ready while running and not paused); "exited", "dead" and
// "removing" are terminated, with reason OOMKilled when the kernel's OOM killer ended it, else
// Completed for exit code 0 and Error for any other. A terminated container always has a
// finishedAt (docker leaves a container that never ran without one: its creation time stands in).
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "capstan/driver_sdk.hpp"

namespace capstan::plugins::docker {

// An RFC 3339 time as docker writes it ("2024-05-01T10:00:00.123456789Z", or with an offset) in
// nanoseconds since the Unix epoch. nullopt for docker's zero time (year 1) or a malformed one.
std::optional<int64_t> ParseEngineTime(std::string_view text);

// The status of the container `inspect` describes (name from its driver.capstan.io/container
// label). `now_unix_nano` stands in for a finish time docker does not know yet.
sdk::ContainerStatus StatusFromInspect(const nlohmann::json& inspect, int64_t now_unix_nano);

// The status a "die" event tells (Actor.Attributes: exitCode and the container's labels), for when
// the container cannot be inspected any more.
sdk::ContainerStatus StatusFromDieEvent(const nlohmann::json& event);

}  // namespace capstan::plugins::docker
