/* udpserv_echo.c: the slides' two-process UDP echo servers in C, ours, written for the tests after
 * their descriptions and the one struct slide 7 prints (ch. 8 §8.1-8.2, slides 7 and 10): the
 * parent (parent_start) recvfrom()s and writes a mesg_t into a pipe (udpserv_pipeecho.c) or a FIFO
 * (udpserv_fifoecho.c: made before fork(), each end opened after it), the child (child_start)
 * reads it and sendto()s the data back to the address. MAX_BUFSZ, the strlen() of the data (the
 * struct has no length field), the loopback address and the "port N" line the tests read are ours.
 * Usage: udpserv_echo pipe PORT | udpserv_echo fifo PORT PATH (PORT 0: any free port) */
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
    struct sockaddr_in addr; /* the client's address */
    char data[MAX_BUFSZ];    /* the data to echo */
} mesg_t;

static void parent_start(int sock, int fd)
{
    mesg_t msg;
    socklen_t len;
    ssize_t nbytes;

    for (;;) {
        len = sizeof msg.addr;
        nbytes = recvfrom(sock, msg.data, MAX_BUFSZ - 1, 0, (struct sockaddr *)&msg.addr, &len);
        if (nbytes < 0) {
            perror("recvfrom fail");
            continue;
        }
        msg.data[nbytes] = '\0';
        /* one write of sizeof(mesg_t) <= PIPE_BUF bytes: atomic */
        if (write(fd, &msg, sizeof msg) != sizeof msg) {
            perror("write fail");
            exit(1);
        }
    }
}

static void child_start(int sock, int fd)
{
    mesg_t msg;

    while (read(fd, &msg, sizeof msg) == sizeof msg)
        if (sendto(sock, msg.data, strlen(msg.data), 0, (struct sockaddr *)&msg.addr, sizeof msg.addr) < 0)
            perror("sendto fail");
    exit(0); /* end of file: the parent is gone */
}

int main(int argc, char *argv[])
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int sock, fd[2], fifo = argc == 4 && strcmp(argv[1], "fifo") == 0;
    pid_t pid;

    if (!fifo && !(argc == 3 && strcmp(argv[1], "pipe") == 0)) {
        fprintf(stderr, "usage: %s pipe PORT | %s fifo PORT PATH\n", argv[0], argv[0]);
        return 2;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(atoi(argv[2]));
    if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) < 0 || bind(sock, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("socket/bind fail");
        return 1;
    }
    getsockname(sock, (struct sockaddr *)&addr, &len);
    if (fifo ? mkfifo(argv[3], 0600) < 0 : pipe(fd) < 0) {
        perror(fifo ? "mkfifo fail" : "pipe fail");
        return 1;
    }
    printf("port %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    if ((pid = fork()) < 0) {
        perror("fork fail");
        return 1;
    } else if (pid > 0) {
        if (fifo)
            fd[1] = open(argv[3], O_WRONLY); /* waits for the child's open */
        else
            close(fd[0]);
        parent_start(sock, fd[1]);
    } else {
        if (fifo)
            fd[0] = open(argv[3], O_RDONLY);
        else
            close(fd[1]);
        child_start(sock, fd[0]);
    }
    return 0;
}
