#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "api/api_server.h"
#include "base/status.h"
#include "cli/server_command.h"
#include "client/kubeconfig.h"
#include "client/rest_client.h"
#include "store/rocks_store.h"

namespace capstan::cli {
namespace {


// The running server holds the store's lock, so the backup is taken by the server itself, found
// through the kubeconfig it wrote into its data dir.
Status BackupThroughServer(const std::string& data_dir, const std::string& out) {
  client::ConnectionOverrides o;
  o.kubeconfig = data_dir + "/kubeconfig.yaml";
  auto conn = client::ResolveConnection(o);
  if (!conn.ok()) return conn.status().Annotate("the store is in use and the server's kubeconfig is unreadable");
  auto rc = client::RestClient::Create(*conn);
  if (!rc.ok()) return rc.status();
  auto r = (*rc)->Create("/capstan/v1/backup", nlohmann::json{{"dir", out}});
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace

int RunAdminCommand(int argc, char** argv) {
  if (argc < 1 || std::string(argv[0]) != "backup") {
    std::fputs("Usage: capstan admin backup [--data-dir DIR] OUT\n"
               "Copies the store, consistently and online, into the new directory OUT.\n"
               "A server started with --data-dir on OUT's parent layout serves the same objects:\n"
               "  capstan server --data-dir RESTORED   (with RESTORED/store being OUT)\n",
               argc < 1 ? stderr : stdout);
    return argc < 1 ? 1 : 0;
  }
  std::string data_dir = api::DefaultDataDir(), out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--data-dir" && i + 1 < argc) data_dir = argv[++i];
    else if (a.rfind("--data-dir=", 0) == 0) data_dir = a.substr(11);
    else if (!a.empty() && a[0] != '-' && out.empty()) out = a;
    else {
      std::fprintf(stderr, "error: unexpected argument \"%s\"\n", a.c_str());
      return 1;
    }
  }
  if (out.empty()) {
    std::fputs("error: capstan admin backup needs the output directory\n", stderr);
    return 1;
  }
  Status st;
  auto store = store::OpenRocksStore(data_dir + "/store");
  if (store.ok()) {
    st = (*store)->Backup(out);
    (*store)->Shutdown();
  } else if (store.status().code() == Code::kUnavailable) {
    st = BackupThroughServer(data_dir, out);
  } else {
    st = store.status();
  }
  if (!st.ok()) {
    std::fprintf(stderr, "error: backup of %s failed: %s\n", data_dir.c_str(), st.ToString().c_str());
    return 1;
  }
  std::printf("backup written to %s\n", out.c_str());
  return 0;
}

}  // namespace capstan::cli
