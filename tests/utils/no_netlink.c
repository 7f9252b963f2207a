/* LD_PRELOAD shim for the test browser: socket(AF_NETLINK, ..., NETLINK_ROUTE) fails with
 * EAFNOSUPPORT, so Chromium's AddressTrackerLinux cannot watch the host's addresses and takes its
 * "always online" path. Without it, every network Docker creates or removes on the host (other
 * tests' stacks, Swarm, builds) is a "network change" to Chromium, which then aborts requests in
 * flight: CI saw "Failed to fetch dynamically imported module .../Selectbox.js" and Streamlit
 * pages that never showed (tests/utils/browser.py; the fix as in opsmill/infrahub#9385). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/netlink.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol) {
    static int (*real)(int, int, int);
    if (!real) real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
    if (domain == AF_NETLINK && protocol == NETLINK_ROUTE) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    return real(domain, type, protocol);
}
