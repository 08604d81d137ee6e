#include <curl/curl.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>

#include "connector/alerts/mailer.hpp"

namespace connector::alerts {
namespace {

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct easy_handle {
  CURL* curl = curl_easy_init();
  curl_slist* recipients = nullptr;
  ~easy_handle() {
    curl_slist_free_all(recipients);
    if (curl) curl_easy_cleanup(curl);
  }
};

struct upload {
  std::string_view data;
  std::size_t at = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto& source = *static_cast<upload*>(user);
  const std::size_t n = std::min(size * count, source.data.size() - source.at);
  std::memcpy(buffer, source.data.data() + source.at, n);
  source.at += n;
  return n;
}

// alerts.smtp.tls_ca_file is trusted besides the system's CAs (a local relay's own CA).
CURLcode add_extra_ca(CURL*, void* ssl_ctx, void* path) {
  return SSL_CTX_load_verify_locations(static_cast<SSL_CTX*>(ssl_ctx),
                                       static_cast<const char*>(path), nullptr) == 1
             ? CURLE_OK
             : CURLE_SSL_CACERT_BADFILE;
}

std::string message_id(epoch_ms now, const std::string& from) {
  static std::mutex random_mutex;
  static std::mt19937_64 random{std::random_device{}()};
  std::uint64_t unique = 0;
  {
    std::lock_guard lock(random_mutex);
    unique = random();
  }
  char text[64];
  std::snprintf(text, sizeof text, "%lld.%016llx", static_cast<long long>(now),
                static_cast<unsigned long long>(unique));
  return std::string(text) + "@" + from.substr(from.find('@') + 1);
}

// smtps:// speaks TLS from the first byte; smtp:// may upgrade with STARTTLS.
std::string server_url(const config::smtp_settings& smtp) {
  const bool ipv6 = smtp.host.find(':') != std::string::npos;
  return std::string(smtp.security == "tls" ? "smtps://" : "smtp://") +
         (ipv6 ? "[" + smtp.host + "]" : smtp.host) + ":" + std::to_string(smtp.port);
}

std::string scrubbed(std::string text, const std::string& secret) {
  if (secret.size() < 4) return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), "[redacted]");
  }
  return text;
}

}  // namespace

smtp_mailer::smtp_mailer(config::alerts_settings settings, const connector::clock& clock,
                         smtp_timeouts timeouts)
    : settings_(std::move(settings)), clock_(clock), timeouts_(timeouts) {
  init_curl_once();
}

std::string smtp_mailer::describe() const {
  const auto& smtp = settings_.smtp;
  const char* security = smtp.security == "tls"        ? "implicit TLS"
                         : smtp.security == "starttls" ? "STARTTLS"
                                                       : "no TLS";
  return server_url(smtp) + " (" + security + ")";
}

send_result smtp_mailer::send(const email& message) {
  const auto& smtp = settings_.smtp;
  const epoch_ms now = clock_.now();
  const std::string text =
      format_message(message, {smtp.from, settings_.email_to}, now, message_id(now, smtp.from));
  easy_handle handle;
  if (!handle.curl) return unexpected{std::string("libcurl could not start a transfer")};
  CURL* curl = handle.curl;
  char error_buffer[CURL_ERROR_SIZE] = {};
  upload source{text};

  const std::string url = server_url(smtp);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: other threads run
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeouts_.connect_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeouts_.total_ms));
  if (smtp.security == "starttls") {
    // Refuse to go on in clear text when the server offers no STARTTLS.
    curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  }
  if (smtp.security != "none") {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    if (smtp.tls_ca_file) {
#if LIBCURL_VERSION_NUM >= 0x075700
      // A cached store would be shared with other transfers: add the CA to a fresh one.
      curl_easy_setopt(curl, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
      curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, add_extra_ca);
      curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, const_cast<char*>(smtp.tls_ca_file->c_str()));
    }
  }
  if (!smtp.username.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, smtp.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, smtp.password.reveal().c_str());
  }
  const std::string from = "<" + smtp.from + ">";
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  for (const auto& to : settings_.email_to) {
    handle.recipients = curl_slist_append(handle.recipients, ("<" + to + ">").c_str());
  }
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, handle.recipients);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(curl, CURLOPT_READDATA, &source);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(text.size()));

  const CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) return std::monostate{};
  long reply = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply);
  std::string why = curl_easy_strerror(code);
  if (error_buffer[0] != '\0' && why != error_buffer) why += ": " + std::string(error_buffer);
  if (reply != 0) why += " (last SMTP reply " + std::to_string(reply) + ")";
  return unexpected{
      scrubbed("sending e-mail via " + describe() + " failed: " + why, smtp.password.reveal())};
}

}  // namespace connector::alerts
