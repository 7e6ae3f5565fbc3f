/* udpserv_fifoecho.c: the slides' FIFO echo server in C, ours, written for the tests after the
 * description of slide 10 (ch. 8 §8.2): udpserv_pipeecho.c with a FIFO in place of the pipe. The
 * FIFO's path comes from the command line (the test's scratch directory), and is made before fork();
 * each process opens its own end after it. Everything else as in udpserv_pipeecho.c (ours).
 * Usage: udpserv_fifoecho PORT FIFO */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BUFSZ 512

typedef struct mesg {
    struct sockaddr_in addr;
    char data[MAX_BUFSZ];
} mesg_t;

int main(int argc, char *argv[])
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    mesg_t msg;
    ssize_t nbytes;
    int sock, fd;
    pid_t pid;

    if (argc != 3) {
        fprintf(stderr, "usage: %s PORT FIFO\n", argv[0]);
        return 2;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(atoi(argv[1]));
    if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) < 0 || bind(sock, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("socket/bind fail");
        return 1;
    }
    getsockname(sock, (struct sockaddr *)&addr, &len);
    if (mkfifo(argv[2], 0600) < 0) {
        perror("mkfifo fail");
        return 1;
    }
    printf("port %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    if ((pid = fork()) < 0) {
        perror("fork fail");
        return 1;
    } else if (pid > 0) { /* parent: receive, write to the FIFO */
        if ((fd = open(argv[2], O_WRONLY)) < 0) {
            perror("open fail");
            return 1;
        }
        for (;;) {
            len = sizeof msg.addr;
            nbytes = recvfrom(sock, msg.data, MAX_BUFSZ - 1, 0, (struct sockaddr *)&msg.addr, &len);
            if (nbytes < 0)
                continue;
            msg.data[nbytes] = '\0';
            if (write(fd, &msg, sizeof msg) != sizeof msg)
                return 1;
        }
    }
    if ((fd = open(argv[2], O_RDONLY)) < 0) { /* child: read the FIFO, echo */
        perror("open fail");
        return 1;
    }
    while (read(fd, &msg, sizeof msg) == sizeof msg)
        sendto(sock, msg.data, strlen(msg.data), 0, (struct sockaddr *)&msg.addr, sizeof msg.addr);
    return 0;
}
