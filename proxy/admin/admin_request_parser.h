// The admin API's HTTP/1.1 request reader: llhttp in strict mode, the head and body limits and
// the Expect rule, turning a connection's bytes into AdminRequests. No I/O: the connection
// (admin_server.cc) feeds it what it reads and acts on what it reports, so the fuzzer
// (tests/fuzz/admin_fuzz.cc) drives the same code a socket does.
//
// Ownership: embedded in one admin connection; admin thread only. Not copyable or movable:
// llhttp keeps a pointer to it.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "proxy/admin/admin_server.h"

namespace cutover::proxy::admin {

class AdminRequestParser {
 public:
  static constexpr std::size_t kHeadLimit = 16 * 1024;  // request line + headers

  class Listener {
   public:
    // The client sent "Expect: 100-continue" and waits for an interim 100 before the body.
    virtual void OnContinue() = 0;
    // A complete request to answer; `close_after`: answer with Connection: close (the client
    // asked, or the body was over the limit and not read).
    virtual void OnRequest(const AdminRequest& request, bool close_after) = 0;
    // A request that cannot be served: answer `status` with `message` and close.
    virtual void OnMalformed(int status, std::string message) = 0;

   protected:
    ~Listener() = default;
  };

  // `body_limit` bounds the bodies read ([admin] body_bytes).
  AdminRequestParser(Listener* listener, uint32_t body_limit);
  AdminRequestParser(const AdminRequestParser&) = delete;
  AdminRequestParser& operator=(const AdminRequestParser&) = delete;

  // Parses what the connection read. Once a request was answered with Connection: close (or
  // refused), the rest is ignored: stopped() says so.
  void Feed(const char* data, std::size_t length);
  bool stopped() const { return stopped_; }

  // The request being read; the connection fills in the peer fields before OnRequest.
  AdminRequest& request() { return request_; }
  const AdminRequest& request() const { return request_; }

 private:
  int OnMessageBegin();
  int OnUrl(const char* at, std::size_t length);
  int OnHeaderField(const char* at, std::size_t length);
  int OnHeaderValue(const char* at, std::size_t length);
  int OnHeaderValueComplete();
  int OnHeadersComplete();
  int OnBody(const char* at, std::size_t length);
  int OnMessageComplete();
  int CountHeadBytes(std::size_t length);  // 0, or -1 past kHeadLimit
  void Dispatch(bool close_after);
  void Fail(int status, std::string message);

  static const llhttp_settings_t kSettings;

  Listener* listener_;
  uint32_t body_limit_;
  llhttp_t parser_;
  AdminRequest request_;
  std::string target_;
  std::string field_;
  std::string value_;
  std::size_t head_bytes_ = 0;  // of the current request's head, as llhttp hands it over
  bool head_too_large_ = false;
  bool expectation_failed_ = false;
  bool stopped_ = false;
};

}  // namespace cutover::proxy::admin
