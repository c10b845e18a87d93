// EAL start-up and the kernel side of a TAP device.
#pragma once

#include <string>
#include <vector>

#include "lib/base/result.h"
#include "lib/net/addr.h"

namespace linetls::dpdk {

// Initialises the EAL with args (args[0] is the program name). On failure returns the
// EAL's reason as one line. Call once per process.
Result<void, std::string> eal_init(const std::vector<std::string>& args);
// Releases EAL resources and removes this process's runtime directory
// (/var/run/dpdk/<file_prefix>) if it is empty or ours.
void eal_cleanup(const std::string& file_prefix);

// EAL arguments for TAP mode: no hugepages, --no-pci, --no-shconf, the given file prefix,
// mem_mb of memory, and a net_tap vdev named net_tap0 creating kernel interface ifname.
// lcores is an EAL -l list ("0" or "0-1").
std::vector<std::string> tap_mode_eal_args(const std::string& prog, const std::string& ifname,
                                           const std::string& file_prefix,
                                           const std::string& lcores, unsigned mem_mb);

// Gives kernel interface ifname the address host (e.g. 10.99.0.1/24) and brings it up.
Result<void, std::string> configure_kernel_if(const std::string& ifname, const net::Ipv4Cidr& host);

}  // namespace linetls::dpdk
