#include "api/http/direct_stream_writer.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdio>
#include <utility>

#include "base/log.h"

namespace capstan::api::http_internal {

DirectStreamWriter::DirectStreamWriter(int fd, std::shared_ptr<ResponseStream> stream, bool chunked,
                                       std::function<void()> wake_owner)
    : fd_(fd), stream_(std::move(stream)), chunked_(chunked), wake_owner_(std::move(wake_owner)) {}

bool DirectStreamWriter::Park() {
  std::lock_guard<std::mutex> lock(mu_);
  if (dead_ || pending_ || failed_ || done_ || !leftover_.empty()) {
    pending_ = false;
    return false;
  }
  parked_ = true;
  return true;
}

std::string DirectStreamWriter::Unpark(bool* failed, bool* done) {
  std::lock_guard<std::mutex> lock(mu_);
  parked_ = false;
  pending_ = false;
  *failed = failed_;
  *done = done_;
  return std::move(leftover_);
}

void DirectStreamWriter::Flush() {
  queued_.store(false);
  std::lock_guard<std::mutex> lock(mu_);
  if (dead_) return;
  if (!parked_) {
    pending_ = true;
    return;
  }
  bool done = false;
  std::string data;
  try {
    data = stream_->Read(&done);
  } catch (const std::exception& e) {
    log::Warn("http stream Read() threw", {{"error", e.what()}});
    failed_ = true;
  } catch (...) {
    log::Warn("http stream Read() threw");
    failed_ = true;
  }
  if (done) done_ = true;
  const bool all_sent = failed_ || data.empty() || SendLocked(data);
  if (!all_sent || done_ || failed_) HandBackLocked();
}

namespace {

// The part of `iov` (3 entries) after its first `offset` bytes, into `rest`; returns its count.
int Remainder(const iovec (&iov)[3], size_t offset, iovec (&rest)[3]) {
  int count = 0;
  for (const iovec& v : iov) {
    if (offset >= v.iov_len) {
      offset -= v.iov_len;
      continue;
    }
    rest[count++] = {static_cast<char*>(v.iov_base) + offset, v.iov_len - offset};
    offset = 0;
  }
  return count;
}

}  // namespace

bool DirectStreamWriter::SendLocked(const std::string& data) {
  char size_line[24];
  int n = chunked_ ? std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size()) : 0;
  static constexpr char kCrlf[] = "\r\n";
  const iovec iov[3] = {{size_line, size_t(n)},
                        {const_cast<char*>(data.data()), data.size()},
                        {const_cast<char*>(kCrlf), chunked_ ? size_t(2) : size_t(0)}};
  const size_t total = iov[0].iov_len + iov[1].iov_len + iov[2].iov_len;
  size_t sent = 0;
  iovec rest[3];
  while (sent < total) {
    msghdr msg{};
    msg.msg_iov = rest;
    msg.msg_iovlen = size_t(Remainder(iov, sent, rest));
    ssize_t r = ::sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (r < 0) {
      failed_ = true;
      return false;
    }
    sent += size_t(r);
  }
  bytes_ += int64_t(sent);
  if (sent == total) return true;
  // The owner sends the rest with an asynchronous write, which waits for room.
  leftover_.reserve(total - sent);
  const int count = Remainder(iov, sent, rest);
  for (int i = 0; i < count; ++i) leftover_.append(static_cast<const char*>(rest[i].iov_base), rest[i].iov_len);
  return false;
}

void DirectStreamWriter::HandBackLocked() {
  parked_ = false;
  if (wake_owner_) wake_owner_();
}

void DirectStreamWriter::Kill() {
  std::function<void()> dead;
  std::lock_guard<std::mutex> lock(mu_);
  dead_ = true;
  parked_ = false;
  dead.swap(wake_owner_);
}

bool StreamReadyList::Push(std::shared_ptr<DirectStreamWriter> w) {
  std::lock_guard<std::mutex> lock(mu_);
  ready_.push_back(std::move(w));
  return ready_.size() == 1;
}

std::vector<std::shared_ptr<DirectStreamWriter>> StreamReadyList::TakeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(ready_, {});
}

}  // namespace capstan::api::http_internal
