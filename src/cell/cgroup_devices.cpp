#include "cell/cgroup_devices.hpp"

#include <cstdint>

namespace rtcell::cell {

namespace {

// Registers: r1 = ctx, r2 = requested access, r3 = device type, r4 = major,
// r5 = minor, r6 = scratch, r0 = verdict.
bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

int32_t access_mask(const std::string& access) {
  int32_t m = 0;
  for (char c : access) {
    if (c == 'r') m |= BPF_DEVCG_ACC_READ;
    if (c == 'w') m |= BPF_DEVCG_ACC_WRITE;
    if (c == 'm') m |= BPF_DEVCG_ACC_MKNOD;
  }
  return m;
}

constexpr int32_t kAllAccess = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

}  // namespace

const std::vector<DeviceRule>& minimal_devices() {
  static const std::vector<DeviceRule> kMinimal = {
      {'c', 1, 3, "rwm"}, {'c', 1, 5, "rwm"}, {'c', 1, 7, "rwm"}, {'c', 1, 8, "rwm"},
      {'c', 1, 9, "rwm"}, {'c', 5, 0, "rwm"}, {'c', 5, 2, "rwm"}, {'c', 136, -1, "rwm"},
  };
  return kMinimal;
}

std::vector<bpf_insn> device_filter_program(const std::vector<DeviceRule>& rules) {
  std::vector<bpf_insn> p;
  // access_type = (access << 16) | type
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0));         // r2 = ctx->access_type
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0));       // r3 = r2
  p.push_back(insn(BPF_ALU64 | BPF_AND | BPF_K, 3, 0, 0, 0xffff));  // r3 = type
  p.push_back(insn(BPF_ALU64 | BPF_RSH | BPF_K, 2, 0, 0, 16));      // r2 = access
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0));         // r4 = ctx->major
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0));         // r5 = ctx->minor
  for (const auto& r : rules) {
    // Each mismatch jumps to the next block; the offsets are filled in once
    // the block's length is known.
    std::vector<size_t> jumps;
    if (r.type != 'a') {
      jumps.push_back(p.size());
      p.push_back(
          insn(BPF_JMP | BPF_JNE | BPF_K, 3, 0, 0, r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
    }
    int32_t mask = access_mask(r.access);
    if (mask != kAllAccess) {
      // The request must ask for nothing outside the rule's access.
      p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, 2, 0, 0));
      p.push_back(insn(BPF_ALU64 | BPF_AND | BPF_K, 6, 0, 0, ~mask & kAllAccess));
      jumps.push_back(p.size());
      p.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, 6, 0, 0, 0));
    }
    if (r.major >= 0) {
      jumps.push_back(p.size());
      p.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0, r.major));
    }
    if (r.minor >= 0) {
      jumps.push_back(p.size());
      p.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, r.minor));
    }
    p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1));  // allow
    p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    for (size_t j : jumps) p[j].off = static_cast<int16_t>(p.size() - j - 1);
  }
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));  // deny
  p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return p;
}

}  // namespace rtcell::cell
