// The command line: options, the tables printed on request, deadlines, and the rules between
// options (docs/interface.md, "Command line").
#include "command_line.hpp"

#include <boost/program_options.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "config/result_row.hpp"
#include "config/version.hpp"
#include "describe.hpp"
#include "schedule/scheduler.hpp"

namespace po = boost::program_options;

namespace icl {
namespace {

// What the program prints and exits on before any sweep: --help, --version, the tables.
std::optional<std::string> information(const po::variables_map& vm, const po::options_description& options) {
  if (vm.count("help")) {
    std::ostringstream text;
    text << "usage: icl-sweep --config FILE [--output FILE] [--force | --resume-or-start] [--dry-run] "
            "[--progress SECONDS] [--SECTION.KEY VALUE ...]\n"
            "       icl-sweep --resume OUTPUT [--config FILE] [--SECTION.KEY VALUE ...]\n"
            "       icl-sweep --config FILE --extend OLD.h5 [--output FILE] [--force] [--SECTION.KEY VALUE ...]\n"
            "       icl-sweep merge IN.h5 IN.h5 ... --output FILE [--force] [--fill]    (or --merge)\n"
            "       icl-sweep status OUTPUT [--export SNAPSHOT.h5]            (or --status)\n"
            "Keys, columns, shifts, spectra and exit codes: docs/interface.md and docs/theory.md.\n\n"
         << options;
    return text.str();
  }
  if (vm.count("version")) return program_identity() + "\n";  // the build as a resume checks it: libtorch, cpu or cuda
  if (vm.count("describe-keys")) return describe_keys();
  if (vm.count("describe-columns")) return describe_columns();
  if (vm.count("describe-predictors")) return describe_predictors();
  if (vm.count("describe-axes")) return describe_axes();
  if (vm.count("list-shifts")) return list_shifts();
  if (vm.count("list-spectra")) return list_spectra();
  if (vm.count("list-models")) return list_models();
  if (vm.count("schema-version")) return std::to_string(kSchemaVersion) + "\n";
  return std::nullopt;
}

// The furthest deadline taken: a century from now (the steady clock's nanoseconds hold about
// 292 years; a later deadline would wrap into the past and stop the sweep at once).
constexpr double kMaxDeadlineSeconds = 100.0 * 365.25 * 86400.0;

// Seconds from now to the deadline of --stop-after or --stop-at; nullopt without one. Throws
// po::error on a value that is not a duration or a time, or is more than a century away.
std::optional<double> seconds_to_deadline(const CommandLine& cl) {
  const auto within_reach = [](const std::string& option, const std::string& v, double seconds) {
    if (seconds > kMaxDeadlineSeconds) throw po::error(option + " " + v + ": more than 100 years away");
    return seconds;
  };
  if (!cl.stop_after.empty()) {
    const std::string& v = cl.stop_after;
    double seconds = -1.0;
    int h = 0, m = 0, s = 0;
    char tail = 0;
    if (std::sscanf(v.c_str(), "%d:%d:%d%c", &h, &m, &s, &tail) == 3 && h >= 0 && m >= 0 && m < 60 && s >= 0 && s < 60) {
      seconds = 3600.0 * h + 60.0 * m + s;
    } else {
      std::size_t used = 0;
      double number = -1.0;
      try {
        number = std::stod(v, &used);
      } catch (const std::exception&) {
      }
      const std::string unit = v.substr(used);
      const double scale = unit.empty() || unit == "s" ? 1.0 : unit == "m" ? 60.0 : unit == "h" ? 3600.0 : unit == "d" ? 86400.0 : -1.0;
      if (used > 0 && scale > 0.0 && number >= 0.0) seconds = number * scale;
    }
    if (!(seconds >= 0.0) || !std::isfinite(seconds))
      throw po::error("--stop-after " + v + ": not a duration (3600, 90m, 12h, 1.5d or H:MM:SS)");
    return within_reach("--stop-after", v, seconds);
  }
  if (!cl.stop_at.empty()) {
    const std::string& v = cl.stop_at;
    std::time_t target = -1;
    if (v.size() > 1 && v[0] == '@') {
      char* end = nullptr;
      errno = 0;
      const long long epoch = std::strtoll(v.c_str() + 1, &end, 10);
      if (errno == 0 && end != nullptr && *end == '\0') target = static_cast<std::time_t>(epoch);
    } else {
      std::tm tm{};
      tm.tm_isdst = -1;
      const char* end = ::strptime(v.c_str(), "%Y-%m-%dT%H:%M", &tm);
      if (end != nullptr && *end == ':') end = ::strptime(end, ":%S", &tm);
      if (end != nullptr && *end == '\0') {
        // mktime carries an impossible date or hour into the next (2099-02-30 into March 2, a
        // local time skipped by a clock change into the hour after): such a time is refused.
        const std::tm asked = tm;
        target = std::mktime(&tm);
        std::tm back{};
        if (target != -1 && (::localtime_r(&target, &back) == nullptr || back.tm_year != asked.tm_year ||
                             back.tm_mon != asked.tm_mon || back.tm_mday != asked.tm_mday ||
                             back.tm_hour != asked.tm_hour || back.tm_min != asked.tm_min || back.tm_sec != asked.tm_sec))
          target = -1;
      }
    }
    if (target == -1)
      throw po::error("--stop-at " + v + ": not a time (YYYY-MM-DDTHH:MM[:SS], local, or @EPOCH)");
    return within_reach("--stop-at", v, std::difftime(target, std::time(nullptr)));
  }
  return std::nullopt;
}

CommandLine parse(int argc, char** argv, std::optional<std::string>& info) {
  CommandLine cl;
  po::options_description options("icl-sweep options");
  options.add_options()
      ("help,h", "print this help")
      ("version", "print the version")
      ("config", po::value(&cl.config), "the sweep definition (INI); with --resume, taken from the output if omitted")
      ("output", po::value(&cl.output), "the HDF5 results file (overrides sweep.output); also the first argument")
      ("force", po::bool_switch(&cl.force), "overwrite an existing output file")
      ("resume", po::bool_switch(&cl.resume), "continue an interrupted sweep (same config, inputs and program)")
      ("resume-or-start", po::bool_switch(&cl.resume_or_start),
       "continue the sweep if OUTPUT or its journal exists (as --resume), else start it: one command for both")
      ("extend", po::value(&cl.extend)->value_name("OLD.h5"),
       "start a sweep whose grid holds OLD's and more: OLD's rows are reused, only the new ones computed")
      ("merge", po::value(&cl.merge)->multitoken()->value_name("IN.h5 ..."),
       "one file from finished sweeps' files (an array job's, extensions'): their grids' union, rows that "
       "several hold checked equal; inputs that do not fill the union are refused (exit 2) unless --fill")
      ("fill", po::bool_switch(&cl.fill),
       "with --merge: where the inputs do not fill the union of their grids, write what they hold and stop "
       "(exit 3): --resume OUTPUT computes the rest")
      ("status", po::value(&cl.status)->value_name("OUTPUT"),
       "what a sweep has done (rows, statuses, rate, ETA, each rank's last report), read from its journal "
       "without disturbing it")
      ("export", po::value(&cl.snapshot)->value_name("SNAPSHOT.h5"),
       "with --status: also write the rows done so far to this new, readable results file")
      ("dry-run", po::bool_switch(&cl.dry_run), "print the grid size and a cost estimate; write nothing")
      ("progress", po::value(&cl.progress)->default_value(cl.progress), "seconds between progress lines; 0 = off")
      ("stop-after", po::value(&cl.stop_after)->value_name("DURATION"),
       "stop cleanly (checkpoint, exit 3) before this much wall time has passed: 3600, 90m, 12h, 1.5d or H:MM:SS")
      ("stop-at", po::value(&cl.stop_at)->value_name("TIME"),
       "stop cleanly (checkpoint, exit 3) before this local time: YYYY-MM-DDTHH:MM[:SS] (as Slurm prints it) or @EPOCH")
      ("stop-grace", po::value(&cl.stop_grace)->default_value(cl.stop_grace),
       "seconds rank 0 waits, after a stop, for ranks to abandon their runs before it exits without them")
      ("describe-keys", "print the config keys as a Markdown table")
      ("describe-columns", "print the result columns as a Markdown table")
      ("describe-predictors", "print the predictors (their names, labels and columns) as JSON")
      ("describe-axes", "print the grid's axes (their keys, columns and kinds) as JSON")
      ("list-shifts", "print every shift, one line each")
      ("list-spectra", "print every covariance model, one line each")
      ("list-models", "print every model, one line each")
      ("schema-version", "print the results file's schema version");
  po::options_description keys("config keys (each overrides the file; the default in brackets)");
  std::vector<std::string> descriptions;
  for (const ConfigKey& key : config_key_table()) descriptions.push_back(key.meaning + " [" + key.default_text + "]");
  for (std::size_t i = 0; i < config_keys().size(); ++i)
    keys.add_options()(config_keys()[i].c_str(), po::value<std::string>()->value_name("V"), descriptions[i].c_str());
  options.add(keys);
  po::positional_options_description positional;
  positional.add("output", 1);
  // `icl-sweep status OUT` and `icl-sweep merge IN... --output OUT` are --status and --merge: a
  // first word that names a command and not a file.
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "status" || args[0] == "merge")) args[0] = "--" + args[0];
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
  po::notify(vm);
  info = information(vm, options);
  if (info) return cl;
  if (!cl.snapshot.empty() && cl.status.empty()) throw po::error("--export goes with --status OUTPUT");
  if (!cl.status.empty()) {
    if (!cl.merge.empty() || !cl.config.empty() || cl.resume || cl.resume_or_start || !cl.extend.empty() || cl.dry_run)
      throw po::error("--status takes the output (and --export) alone");
    return cl;
  }
  if (cl.fill && cl.merge.empty()) throw po::error("--fill goes with --merge");
  if (!cl.merge.empty()) {
    bool key_given = false;
    for (const auto& key : config_keys()) key_given = key_given || vm.count(key) > 0;
    if (!cl.config.empty() || cl.resume || cl.resume_or_start || !cl.extend.empty() || cl.dry_run || key_given)
      throw po::error("--merge takes the inputs, --output, --force and --fill alone (the inputs' configs decide the rest)");
    if (cl.output.empty()) throw po::error("--merge needs --output FILE");
    return cl;
  }
  if (cl.config.empty() && !cl.resume) throw po::error("--config FILE is required (or --resume OUTPUT)");
  if (cl.config.empty() && cl.output.empty()) throw po::error("--resume without --config needs the OUTPUT file");
  if (cl.force + cl.resume + cl.resume_or_start > 1)
    throw po::error("--force, --resume and --resume-or-start exclude each other");
  if (cl.resume_or_start && cl.config.empty()) throw po::error("--resume-or-start needs --config FILE (to start)");
  if (!cl.extend.empty() && (cl.resume || cl.resume_or_start))
    throw po::error("--extend starts a new sweep: not with --resume or --resume-or-start (a stopped extension "
                    "resumes with --resume alone)");
  if (!cl.extend.empty() && cl.config.empty()) throw po::error("--extend needs --config FILE (the larger grid)");
  if (!(cl.progress >= 0.0)) throw po::error("--progress must be >= 0");
  if (!(cl.stop_grace >= 0.0)) throw po::error("--stop-grace must be >= 0");
  for (const char* option : {"stop-after", "stop-at"})
    if (vm.count(option) && vm[option].as<std::string>().empty()) throw po::error(std::string("--") + option + ": empty");
  if (!cl.stop_after.empty() && !cl.stop_at.empty()) throw po::error("--stop-after and --stop-at exclude each other");
  const auto seconds = seconds_to_deadline(cl);
  if (seconds)
    cl.deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(*seconds));
  if (seconds && *seconds <= static_cast<double>(kDeadlineLead.count()))
    throw po::error("the deadline (--stop-after/--stop-at) is " + std::to_string(static_cast<long long>(*seconds)) +
                    " s away: less than the " + std::to_string(kDeadlineLead.count()) + " s a clean stop needs");
  for (const auto& key : config_keys())
    if (vm.count(key)) cl.overrides.emplace_back(key, vm[key].as<std::string>());
  if (!cl.output.empty()) cl.overrides.emplace_back("sweep.output", cl.output);
  return cl;
}

}  // namespace

CommandLine parse_command_line(int argc, char** argv, std::optional<std::string>& info) {
  try {
    return parse(argc, argv, info);
  } catch (const po::error& e) {
    throw CommandLineError(e.what());
  }
}

}  // namespace icl
