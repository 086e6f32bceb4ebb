// `hemolens serve` against a real server on loopback: the analysis of an uploaded image equals
// the batch path's (same features, class, probabilities, anomaly score), every bad input gets
// a 4xx JSON reason and the server keeps serving, and concurrent requests agree.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <thread>

#include "hemolens/schema.hpp"
#include "model/anomaly.hpp"
#include "model/explain.hpp"
#include "serve/server.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;
using Json = nlohmann::json;

namespace {

// A server on a free loopback port, serving from a thread until the test ends.
struct Running {
  serve::Analyzer analyzer;
  serve::Server server;
  int port = 0;
  std::thread thread;

  Running(serve::AnalyzerOptions a = {}, serve::ServeOptions s = {})
      : analyzer(test::sample_bundle(), a), server(analyzer, with_any_port(s)), port(server.bind()), thread([this] { server.run(); }) {}
  ~Running() {
    server.stop();
    thread.join();
  }
  static serve::ServeOptions with_any_port(serve::ServeOptions s) {
    s.port = 0;
    return s;
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60);
    return c;
  }
  // POST /api/analyze with the given parts; the reply's status and JSON body.
  std::pair<int, Json> analyze(const httplib::MultipartFormDataItems& parts, const std::string& query = "") const {
    auto res = client().Post(("/api/analyze" + query).c_str(), parts);
    if (!res) return {-1, Json()};
    return {res->status, Json::parse(res->body)};
  }
};

httplib::MultipartFormData part(const std::string& name, const std::string& bytes) { return {"images", bytes, name, "image/jpeg"}; }

// The row of the sample store for one of its files.
std::size_t store_row(const fs::path& file) {
  const StoreData& s = test::sample_store();
  for (std::size_t i = 0; i < s.rows; ++i)
    if (test::sample_dir() / s.images[i].path == file) return i;
  throw std::runtime_error("not in the sample store: " + file.string());
}

// Area enclosed by a polygon (shoelace).
double polygon_area(const Json& poly) {
  double a = 0;
  for (std::size_t i = 0; i < poly.size(); ++i) {
    const Json& p = poly[i];
    const Json& q = poly[(i + 1) % poly.size()];
    a += p[0].get<double>() * q[1].get<double>() - q[0].get<double>() * p[1].get<double>();
  }
  return std::fabs(a) / 2;
}

}  // namespace

TEST(Serve, AnalysisOfAnUploadEqualsTheBatchPath) {
  const Running r;
  const StoreData& s = test::sample_store();
  const model::ModelBundle bundle = model::load_bundle(test::sample_bundle());
  const std::optional<model::AnomalyModel> forests = model::load_anomaly(bundle);
  ASSERT_TRUE(forests);
  for (const fs::path& file : {test::sample_jpegs().front(), test::sample_jpegs().back()}) {
    const std::size_t row = store_row(file);
    const auto [status, body] = r.analyze({part(file.filename().string(), test::read_file(file))}, "?outlines=1");
    ASSERT_EQ(status, 200) << body.dump();
    ASSERT_EQ(body["images"].size(), 1u);
    const Json& img = body["images"][0];
    EXPECT_EQ(img["file"], file.filename().string());
    EXPECT_EQ(img["id"], s.images[row].id);

    // The batch path on the stored row of the same image: same class, probabilities, score.
    const float* x = &s.features[row * s.cols];
    const model::Explanation e = model::explain_rows(bundle, x, 1, s.cols, 5, 1)[0];
    EXPECT_EQ(img["class"], bundle.classes[std::size_t(e.predicted)]);
    for (std::size_t c = 0; c < bundle.classes.size(); ++c)
      EXPECT_NEAR(img["probabilities"][bundle.classes[c]].get<double>(), e.proba[c], 1e-6) << bundle.classes[c];
    const model::AnomalyScores a = model::score_anomaly(*forests, x, 1, s.cols, {e.predicted}, {s.images[row].flags}, "cpu", 1);
    EXPECT_NEAR(img["anomaly"]["score"].get<double>(), a.score[0], 1e-6);
    EXPECT_EQ(img["anomaly"]["flagged"].get<bool>(), a.flagged[0] != 0);
    EXPECT_EQ(img["flagged"].get<bool>(), a.flagged[0] != 0);
    EXPECT_FALSE(img["verdict"].get<std::string>().empty());
    // Accept or review as the batch path decides it, with a sentence per reason.
    ASSERT_TRUE(bundle.triage);
    const model::Decision d = model::decide(&*bundle.triage, e.proba.data(), e.proba.size(), s.images[row].flags,
                                            model::flagged_by_model(a, 0));
    const Json& dj = img["decision"];
    EXPECT_EQ(dj["decision"], d.accept ? "accept" : "review");
    ASSERT_EQ(dj["reasons"].size(), d.reasons.size()) << dj.dump();
    for (std::size_t i = 0; i < d.reasons.size(); ++i) {
      EXPECT_EQ(dj["reasons"][i]["code"], d.reasons[i]);
      EXPECT_FALSE(dj["reasons"][i]["text"].get<std::string>().empty());
    }
    ASSERT_EQ(dj["prediction_set"].size(), d.set.size());
    EXPECT_EQ(dj["prediction_set"][0], img["class"]) << "a set starts with the predicted class";

    // The reasons: the model's top features, largest first, with their plain words and values.
    ASSERT_EQ(img["top_features"].size(), 5u);
    for (std::size_t i = 0; i < 5; ++i) {
      const Json& f = img["top_features"][i];
      EXPECT_EQ(f["name"], bundle.feature_names[e.top[i].feature]);
      EXPECT_NEAR(f["contribution"].get<double>(), e.top[i].value, 1e-5);
      EXPECT_FLOAT_EQ(f["value"].get<float>(), x[e.top[i].feature]);
      EXPECT_EQ(f["label"], feature_schema().features[e.top[i].feature].label);
    }

    // The cell outline encloses about the measured cell area and lies inside the image.
    const Json& cell = img["outlines"]["cell"];
    ASSERT_GE(cell.size(), 1u);
    double area = 0;
    for (const Json& poly : cell) {
      area += polygon_area(poly);
      for (const Json& p : poly) {
        EXPECT_GE(p[0].get<int>(), 0);
        EXPECT_LT(p[0].get<int>(), img["width"].get<int>());
        EXPECT_GE(p[1].get<int>(), 0);
        EXPECT_LT(p[1].get<int>(), img["height"].get<int>());
      }
    }
    const double measured = x[0];  // cell_area
    ASSERT_EQ(s.feature_names[0], "cell_area");
    EXPECT_NEAR(area, measured, 0.1 * measured) << file;
    EXPECT_GE(img["outlines"]["nucleus"].size(), 1u);
  }
}

TEST(Serve, DescribesTheModelAndServesASelfContainedPage) {
  const Running r;
  httplib::Client c = r.client();
  auto health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(Json::parse(health->body)["status"], "ok");

  auto model = c.Get("/api/model");
  ASSERT_TRUE(model);
  const Json m = Json::parse(model->body);
  EXPECT_EQ(m["classes"], test::sample_store().classes);
  EXPECT_EQ(m["schema"]["hash"], feature_schema().hash);
  EXPECT_FALSE(m["anomaly"].is_null());
  EXPECT_GT(m["triage"]["alpha"].get<double>(), 0) << m["triage"].dump();
  EXPECT_FALSE(m["versions"]["xgboost"].get<std::string>().empty());
  EXPECT_GT(m["limits"]["max_files"].get<int>(), 0);

  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(page->body.find("<input id=\"files\" type=\"file\" multiple"), std::string::npos);
  EXPECT_NE(page->body.find("<label for=\"files\">"), std::string::npos) << "the file input needs a label";
  // Self-contained: nothing is loaded from another site (works offline, no CDN).
  for (const char* remote : {"src=\"http", "href=\"http", "url(http", "@import"})
    EXPECT_EQ(page->body.find(remote), std::string::npos) << remote;
}

TEST(Serve, RefusesBadInputWithAReasonAndKeepsServing) {
  serve::ServeOptions o;
  o.max_files = 3;
  o.max_file_bytes = 64 << 10;
  const Running r({}, o);
  const fs::path jpeg = test::sample_jpegs().front();
  const std::string good = test::read_file(jpeg);
  const std::string junk = test::read_file(test::source_dir() / "tests" / "data" / "bad" / ".DS_169665.jpg");
  const std::string truncated = good.substr(0, good.size() / 2);

  struct Case {
    const char* what;
    httplib::MultipartFormDataItems parts;
    int status;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"not an image", {part("notes.jpg", junk)}, 422, "not an image"},
      {"truncated JPEG", {part("half.jpg", truncated)}, 422, "truncated"},
      {"empty file", {part("empty.jpg", "")}, 400, "empty file"},
      {"no file at all", {}, 400, "multipart/form-data"},
      {"over the file size limit", {part("huge.jpg", good + std::string(o.max_file_bytes, '\0'))}, 413, "exceeds the limit"},
      {"too many files", {part("1.jpg", junk), part("2.jpg", junk), part("3.jpg", junk), part("4.jpg", junk)}, 413, "too many files"},
  };
  for (const Case& c : cases) {
    const auto [status, body] = r.analyze(c.parts);
    EXPECT_EQ(status, c.status) << c.what << ": " << body.dump();
    ASSERT_TRUE(body.contains("error")) << c.what;
    EXPECT_NE(body["error"].get<std::string>().find(c.reason), std::string::npos) << c.what << ": " << body["error"];
  }

  httplib::Client cl = r.client();
  auto wrong_type = cl.Post("/api/analyze", "{\"image\": 1}", "application/json");
  ASSERT_TRUE(wrong_type);
  EXPECT_EQ(wrong_type->status, 415);
  EXPECT_NE(Json::parse(wrong_type->body)["error"].get<std::string>().find("multipart/form-data"), std::string::npos);
  auto too_big = cl.Post("/api/analyze", std::string(o.max_file_bytes * o.max_files + (2u << 20), 'x'), "image/jpeg");
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
  EXPECT_TRUE(Json::parse(too_big->body).contains("error"));
  auto unknown = cl.Get("/api/nothing");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_TRUE(Json::parse(unknown->body).contains("error"));

  serve::AnalyzerOptions small;
  small.limits.max_pixels = 100'000;  // below the sample's 360x363
  const Running strict(small, o);
  const auto [big_status, big] = strict.analyze({part("big.jpg", good)});
  EXPECT_EQ(big_status, 413) << big.dump();
  EXPECT_NE(big["error"].get<std::string>().find("too large: 360x363 pixels"), std::string::npos) << big.dump();

  // Still serving, and a request mixing good and bad files answers both.
  const auto [status, body] = r.analyze({part("good.jpg", good), part("notes.jpg", junk)});
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["analysed"], 1);
  EXPECT_EQ(body["failed"], 1);
  EXPECT_TRUE(body["images"][0].contains("class"));
  EXPECT_EQ(body["images"][1]["status"], 422);

  // One raw image body (curl --data-binary) works too.
  auto raw = r.client().Post("/api/analyze?name=raw.jpg", good, "image/jpeg");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 200) << raw->body;
  EXPECT_EQ(Json::parse(raw->body)["images"][0]["file"], "raw.jpg");
}

TEST(Serve, ConcurrentRequestsAgreeWithOneAtATime) {
  serve::ServeOptions o;
  o.threads = 8;
  const Running r({}, o);
  const std::vector<fs::path> files = test::sample_jpegs();
  std::vector<Json> expected;
  for (std::size_t i = 0; i < 8; ++i) {
    const auto [status, body] = r.analyze({part("x.jpg", test::read_file(files[i * 7 % files.size()]))});
    ASSERT_EQ(status, 200);
    expected.push_back(body["images"][0]);
  }
  std::vector<std::string> failures(8);
  std::vector<std::thread> clients;
  for (std::size_t t = 0; t < 8; ++t)
    clients.emplace_back([&, t] {
      for (int k = 0; k < 4; ++k) {
        const std::size_t i = (t + std::size_t(k)) % 8;
        const auto [status, body] = r.analyze({part("x.jpg", test::read_file(files[i * 7 % files.size()]))});
        const Json& got = body["images"][0];
        if (status != 200 || got["class"] != expected[i]["class"] || got["probabilities"] != expected[i]["probabilities"] ||
            got["anomaly"]["score"] != expected[i]["anomaly"]["score"])
          failures[t] = "client " + std::to_string(t) + " request " + std::to_string(k) + ": " + body.dump().substr(0, 300);
      }
    });
  for (auto& c : clients) c.join();
  for (const std::string& f : failures) EXPECT_TRUE(f.empty()) << f;
}

TEST(Serve, WritesUploadsToDiskOnlyWhenAsked) {
  test::TempDir dir("serve-keep");
  serve::ServeOptions o;
  o.keep_uploads = dir.path / "uploads";
  const Running r({}, o);
  const fs::path jpeg = test::sample_jpegs().front();
  const auto [status, body] = r.analyze({part("a.jpg", test::read_file(jpeg))});
  ASSERT_EQ(status, 200);
  const fs::path kept = o.keep_uploads / (body["images"][0]["id"].get<std::string>() + ".jpg");
  ASSERT_TRUE(fs::exists(kept));
  EXPECT_EQ(test::read_file(kept), test::read_file(jpeg));
}
