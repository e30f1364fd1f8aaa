// The instructions of our kernels' GPU machine code, as the build made it, and how often a launch
// on the CPU runtime would have issued them on the GPU.
//
// The text is `nvdisasm -gi` of the sm_90 code in libtconv_kernels (cmake/kernel_resources.cmake
// writes it after every build of the kernels; the CUDA objects carry -lineinfo, so each
// instruction comes with its source line and the inline chain above it). The CPU runtime cannot
// execute SASS, so the dynamic count of each instruction is derived, by this documented rule:
//
//   1. Loops are the backward branches of the code: a BRA to an earlier offset makes the region
//      [target, branch]. Each instruction belongs to the smallest region holding it; the whole
//      function is the outermost region.
//   2. Anchors: a memory instruction (LDG, STG, LDS, LDSM, STS, ATOM, ...) whose inline chain
//      holds the file:line of a site the CPU runtime counted, in the same space and direction.
//      A site's warp-level requests are the sum, over its anchors, of the executions of the
//      region holding each (an unrolled loop has several copies of one source access; a
//      prologue and a main loop each have theirs; a path that never runs has its copies too).
//   3. The outermost region runs once per warp of the launch. The loops' executions are the
//      non-negative solution of those sums over all sites at once, in least squares of the
//      relative errors. A loop with no anchor is taken to run once per execution of the region
//      around it: a lower bound, reported as such.
//
// The rule's blind spots: a predicated access that no lane wanted is issued on the GPU but not
// counted on the CPU; the CPU build may split or merge accesses differently from the GPU's (the
// counts of a site then disagree with its copies, and the least squares weighs it against the
// others); a loop without memory accesses is charged once per entry.
//
// Every instruction of a region then counts the region's executions; NOPs (padding after the
// last branch) count none. The counts feed the profiler's issue-slot and pipe times
// (profile_report.hpp); they are CPU-model estimates like everything the profiler predicts.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cpu_cuda/profiler.hpp"

namespace tconv::profile {

// The execution units an instruction occupies besides its issue slot, after Nsight Compute's
// pipe names: alu (integer and logic, FP32 compare/select/min/max, fast conversions), fma_heavy
// (the half of the FMA pipe that also runs IMAD/IMUL), fma (FP32 and packed 16-bit arithmetic on
// either half), xu (MUFU and the slow conversions), memory (LSU/MIO: loads, stores, atomics,
// shuffles), tensor (mma), uniform (the per-warp scalar datapath), control (branches,
// barriers, exits) and other (moves, constant and special-register reads).
enum class Pipe { alu, fma_heavy, fma, xu, memory, tensor, uniform, control, other, nop };
const char* pipe_name(Pipe p);
Pipe pipe_of(const std::string& opcode);

struct SassInstruction {
  uint32_t offset = 0;
  std::string opcode;    // mnemonic with its modifiers, e.g. "LDG.E.CONSTANT"
  std::string operands;  // the rest of the line, without the ';'
  bool predicated = false;
  int64_t target = -1;             // a branch's target offset; -1 for anything else
  std::vector<std::string> lines;  // "kernels/x.hpp:694", innermost frame first
};

struct SassFunction {
  std::string name;  // demangled
  std::vector<SassInstruction> code;
};

// The build's disassembly is large (over 100 MB): functions are found by their headers and parsed
// when first asked for.
struct KernelSass {
  std::string arch = "sm_90";
  std::string unavailable;  // why there is no code, or ""
  std::string text;
  std::map<std::string, std::pair<size_t, size_t>> index;  // demangled name -> its text
  // The function of this demangled name, or nullptr.
  const SassFunction* function(const std::string& name) const;
  // The function whose CPU build has this demangled symbol (cpu_run -> gpu_run), or nullptr.
  const SassFunction* of_cpu_symbol(const std::string& cpu_symbol) const;

 private:
  mutable std::map<std::string, std::shared_ptr<SassFunction>> parsed;
};

// Reads `nvdisasm -gi` text (any number of concatenated files). Paths are kept from kernels/,
// bench/, core/ or reference/ on, as the profiler's sites name them. A text that holds no
// function is unavailable, saying why (its first "# unavailable: ..." line where it has one).
KernelSass parse_kernel_sass(std::string text);
// The build's file (TCONV_KERNEL_SASS), read on first use.
const KernelSass& build_kernel_sass();

// Dynamic warp instructions of one launch, by pipe (rule above).
struct RegionCounts {
  uint32_t first = 0, last = 0;  // offsets of its first and last instruction
  std::string line;              // the source line of its first instruction
  int instructions = 0;          // static, directly inside (not in nested loops)
  double executions = 0;         // how often it ran (warp level)
  bool anchored = false;         // from a counted access, else its parent's count
  // Loads in flight while an iteration waits: cp.async groups the loop's DEPBAR.LE SB0, k
  // leaves outstanding, plus one; 1 for anything else (a load is waited for in the iteration
  // that issued it or, register double-buffered, in the next).
  int stages = 1;
  double issued() const { return instructions * executions; }
};
struct IssueCounts {
  std::vector<RegionCounts> regions;  // the function body first, then its loops
  double instructions = 0;            // issued, all pipes (NOPs excluded)
  std::map<Pipe, double> by_pipe;
  int loops = 0;                 // regions made by backward branches
  int loops_without_anchor = 0;  // counted as running once per entry (a lower bound)
  int anchors = 0;               // memory instructions matched to a counted site
  double of(Pipe p) const {
    auto it = by_pipe.find(p);
    return it == by_pipe.end() ? 0 : it->second;
  }
};
IssueCounts dynamic_issue(const SassFunction& f,
                          const std::vector<::cpu_cuda::prof::SiteCounters>& sites, double warps);

}  // namespace tconv::profile
