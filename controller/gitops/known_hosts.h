// SSH host key checking against a known_hosts text, as OpenSSH reads ~/.ssh/known_hosts: what
// GitSource asks of an ssh:// server before it sends a key (docs/gitops.md).
//
// Each line is "[@revoked] PATTERNS KEYTYPE BASE64-KEY [comment]". PATTERNS is a comma-separated
// list of host names, "[host]:port" for a port other than 22, wildcards (* and ?), negations
// (!pattern) and hashed names ("|1|base64 salt|base64 HMAC-SHA1 of the name"). A key is trusted
// when a line's patterns match the host (and none of its negations does) and its key is the
// server's byte for byte; a matching @revoked line refuses it whatever else says. @cert-authority
// lines are not supported (they trust no key here). Blank lines and # comments are skipped.
//
// Thread-safety: functions.
#pragma once

#include <string>
#include <string_view>

namespace capstan::controller::gitops {

// "" when `known_hosts` trusts `key_blob` (the server's public key in SSH wire format, as in the
// base64 field of a known_hosts line) for `host` at `port`; else why not, naming the host and the
// key's SHA256 fingerprint as ssh-keygen -l prints it.
std::string CheckKnownHost(std::string_view known_hosts, const std::string& host, int port, std::string_view key_blob);

// "SHA256:<base64 without padding>" of a key blob, as OpenSSH prints fingerprints.
std::string Sha256Fingerprint(std::string_view key_blob);

}  // namespace capstan::controller::gitops
