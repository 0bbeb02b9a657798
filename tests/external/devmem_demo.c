/* A plain static Linux program, built with Debian's arm-linux-gnueabihf-gcc
 * and glibc, that knows nothing about armmu: the classic /dev/mem pattern
 * (Raspberry Pi style) plus anonymous memory, through libc's own wrappers. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define UART_PHYS 0x09000000u

int main(int argc, char **argv)
{
    int failed = 0;
    printf("devmem_demo: pid %d, argv[0] %s\n", (int)getpid(), argv[0]);

    int fd = open("/dev/mem", O_RDWR | O_SYNC);
    if (fd < 0) {
        printf("devmem_demo: open /dev/mem: %s\n", strerror(errno));
        return 1;
    }
    volatile uint32_t *uart = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, UART_PHYS);
    if (uart == MAP_FAILED) {
        printf("devmem_demo: mmap uart: %s\n", strerror(errno));
        return 1;
    }
    const char *msg = "devmem_demo: written to the PL011 data register by a glibc program\r\n";
    for (const char *p = msg; *p; p++) {
        while (uart[0x18 / 4] & (1u << 5))
            ;
        uart[0] = (uint32_t)*p;
    }
    munmap((void *)uart, 4096);

    /* RAM through the device path is refused. */
    void *ram = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0x40000000);
    if (ram != MAP_FAILED || errno != EPERM) {
        printf("devmem_demo: mapping RAM via /dev/mem was not refused with EPERM\n");
        failed++;
    }
    close(fd);

    size_t len = 3 << 20;
    unsigned char *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) {
        printf("devmem_demo: anonymous mmap: %s\n", strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < len; i += 4096)
        if (a[i] != 0)
            failed++;
    memset(a, 0xa5, len);
    if (mprotect(a + 4096, 4096, PROT_READ) != 0)
        failed++;
    if (munmap(a + 8192, 4096) != 0)
        failed++;
    if (a[0] != 0xa5 || a[4096] != 0xa5 || a[12288] != 0xa5)
        failed++;
    munmap(a, len);

    char *heap = malloc(100000); /* glibc: brk or mmap */
    if (!heap)
        failed++;
    else {
        memset(heap, 1, 100000);
        free(heap);
    }
    printf("devmem_demo: %s (%d failures)\n", failed ? "FAILED" : "all good", failed);
    return failed;
}
