// Redis config store; see redis_store.h.
#include "mgmt/redis_store.h"

#include <google/protobuf/util/json_util.h>
#include <hiredis/hiredis.h>
#include <poll.h>

#include <memory>
#include <vector>

#include "dataplane/ip/ipv4.h"
#include "mgmt/config_endpoint.h"

namespace wp::mgmt {
namespace {

using google::protobuf::FieldDescriptor;

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

std::string message_json(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  std::string s;
  (void)google::protobuf::util::MessageToJsonString(m, &s, o);
  return s;
}

// JSON of one top-level field; "" when it is empty (the key is deleted).
std::string kind_json(const config::Config& cfg, const FieldDescriptor* f) {
  const auto* refl = cfg.GetReflection();
  if (f->is_repeated()) {
    int n = refl->FieldSize(cfg, f);
    if (n == 0) return "";
    std::string s = "[";
    for (int i = 0; i < n; ++i) {
      if (i) s += ',';
      s += message_json(refl->GetRepeatedMessage(cfg, f, i));
    }
    return s + "]";
  }
  return refl->HasField(cfg, f) ? message_json(refl->GetMessage(cfg, f)) : "";
}

std::string redis_error(redisContext* c, const char* what) {
  return std::string("redis ") + what + ": " + (c && c->err ? c->errstr : "unexpected reply");
}

}  // namespace

bool RedisEndpoint::parse(const std::string& text, RedisEndpoint& out) {
  const std::optional<Endpoint> e = parse_endpoint(text);
  if (!e) return false;
  out.host = format_ipv4(e->addr);
  out.port = e->port;
  return true;
}

RedisStore::~RedisStore() { disconnect(); }

void RedisStore::disconnect() {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
}

bool RedisStore::connect(int timeout_ms, std::string& error) {
  disconnect();
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ctx_ = redisConnectWithTimeout(ep_.host.c_str(), ep_.port, tv);
  if (!ctx_ || ctx_->err) {
    error = "redis " + ep_.host + ":" + std::to_string(ep_.port) + ": " + (ctx_ ? ctx_->errstr : "out of memory");
    disconnect();
    return false;
  }
  redisSetTimeout(ctx_, tv);  // commands never hang on a stuck server
  return true;
}

bool RedisStore::load(RedisConfig& out, std::string& error) {
  out = RedisConfig{};
  if (!ctx_) return error = "redis: not connected", false;
  const auto* d = config::Config::descriptor();
  redisAppendCommand(ctx_, "MULTI");
  redisAppendCommand(ctx_, "GET %s", (prefix_ + ":version").c_str());
  for (int i = 0; i < d->field_count(); ++i)
    redisAppendCommand(ctx_, "GET %s", (prefix_ + ":config:" + d->field(i)->name()).c_str());
  redisAppendCommand(ctx_, "EXEC");
  Reply exec;
  for (int i = 0; i < d->field_count() + 3; ++i) {
    redisReply* r = nullptr;
    if (redisGetReply(ctx_, reinterpret_cast<void**>(&r)) != REDIS_OK) {
      error = redis_error(ctx_, "read");
      disconnect();
      return false;
    }
    if (i == d->field_count() + 2)
      exec.reset(r);
    else
      freeReplyObject(r);
  }
  if (!exec || exec->type != REDIS_REPLY_ARRAY || exec->elements != static_cast<size_t>(d->field_count() + 1))
    return error = "redis: MULTI/EXEC read failed", false;
  redisReply* ver = exec->element[0];
  if (ver->type != REDIS_REPLY_STRING) return error = "redis: no config stored under " + prefix_ + ":version", false;
  out.version = std::strtoull(ver->str, nullptr, 10);
  std::string doc = "{";
  bool first = true;
  for (int i = 0; i < d->field_count(); ++i) {
    redisReply* v = exec->element[i + 1];
    if (v->type != REDIS_REPLY_STRING) continue;
    if (!first) doc += ", ";
    doc += '"';
    doc += d->field(i)->name();
    doc += "\": ";
    doc.append(v->str, v->len);
    first = false;
  }
  doc += "}";
  out.result = load_config_text(doc);
  return true;
}

bool RedisStore::push(const config::Config& cfg, uint64_t& version, std::string& error) {
  if (!ctx_) return error = "redis: not connected", false;
  const auto* d = config::Config::descriptor();
  size_t sent = 0;
  redisAppendCommand(ctx_, "MULTI");
  ++sent;
  for (int i = 0; i < d->field_count(); ++i) {
    const std::string key = prefix_ + ":config:" + d->field(i)->name();
    const std::string v = kind_json(cfg, d->field(i));
    if (v.empty())
      redisAppendCommand(ctx_, "DEL %s", key.c_str());
    else
      redisAppendCommand(ctx_, "SET %s %b", key.c_str(), v.data(), v.size());
    ++sent;
  }
  redisAppendCommand(ctx_, "INCR %s", (prefix_ + ":version").c_str());
  redisAppendCommand(ctx_, "EXEC");
  sent += 2;
  Reply exec;
  for (size_t i = 0; i < sent; ++i) {
    redisReply* r = nullptr;
    if (redisGetReply(ctx_, reinterpret_cast<void**>(&r)) != REDIS_OK) {
      error = redis_error(ctx_, "write");
      disconnect();
      return false;
    }
    if (i + 1 == sent)
      exec.reset(r);
    else
      freeReplyObject(r);
  }
  if (!exec || exec->type != REDIS_REPLY_ARRAY || exec->elements == 0 ||
      exec->element[exec->elements - 1]->type != REDIS_REPLY_INTEGER) {
    error = "redis: MULTI/EXEC write failed";
    if (exec && exec->type == REDIS_REPLY_ERROR) error.append(": ").append(exec->str);
    return false;
  }
  version = static_cast<uint64_t>(exec->element[exec->elements - 1]->integer);
  // Announce after the commit: a subscriber that reloads now sees the new version.
  Reply pub(static_cast<redisReply*>(
      redisCommand(ctx_, "PUBLISH %s %s", channel().c_str(), std::to_string(version).c_str())));
  if (!pub) return error = redis_error(ctx_, "publish"), false;
  return true;
}

bool RedisStore::subscribe(std::string& error) {
  if (!ctx_) return error = "redis: not connected", false;
  Reply r(static_cast<redisReply*>(redisCommand(ctx_, "SUBSCRIBE %s", channel().c_str())));
  if (!r || r->type != REDIS_REPLY_ARRAY) {
    error = redis_error(ctx_, "subscribe");
    disconnect();
    return false;
  }
  return true;
}

int RedisStore::wait_message(int timeout_ms, std::string& payload, std::string& error) {
  if (!ctx_) return error = "redis: not connected", -1;
  // Poll the socket first: a hiredis read timeout would leave the context
  // unusable, and a quiet channel is the normal case.
  pollfd p{ctx_->fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) == 0) return 0;
  redisReply* raw = nullptr;
  if (redisGetReply(ctx_, reinterpret_cast<void**>(&raw)) != REDIS_OK) {
    error = redis_error(ctx_, "subscription");
    disconnect();
    return -1;
  }
  Reply r(raw);
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[2]->type == REDIS_REPLY_STRING) {
    payload.assign(r->element[2]->str, r->element[2]->len);
    return 1;
  }
  return 0;
}

}  // namespace wp::mgmt
