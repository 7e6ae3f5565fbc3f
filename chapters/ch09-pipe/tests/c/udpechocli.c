/* udpechocli.c: a UDP echo client in C, ours, written for the tests after the slides' description
 * (ch. 8 §8.1, slide 7: "open a UDP socket, send each keyboard line to the server with sendto(),
 * receive it with recvfrom() and print it"). The slides list no code: buffer size, output and the
 * receive timeout (so that a test never waits for ever on a lost echo) are ours.
 * Usage: udpechocli ADDR PORT < lines */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_BUFSZ 512

int main(int argc, char *argv[])
{
    struct sockaddr_in servaddr;
    struct timeval timeout = {10, 0};
    char line[MAX_BUFSZ], echo[MAX_BUFSZ + 1];
    ssize_t nbytes;
    int sock;

    if (argc != 3) {
        fprintf(stderr, "usage: %s ADDR PORT\n", argv[0]);
        return 2;
    }
    memset(&servaddr, 0, sizeof servaddr);
    servaddr.sin_family = AF_INET;
    servaddr.sin_port = htons(atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &servaddr.sin_addr) != 1) {
        fprintf(stderr, "bad address %s\n", argv[1]);
        return 2;
    }
    if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
        perror("socket fail");
        return 1;
    }
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (sendto(sock, line, strlen(line), 0, (struct sockaddr *)&servaddr, sizeof servaddr) < 0) {
            perror("sendto fail");
            return 1;
        }
        if ((nbytes = recvfrom(sock, echo, MAX_BUFSZ, 0, NULL, NULL)) < 0) {
            perror("recvfrom fail");
            return 1;
        }
        echo[nbytes] = '\0';
        printf("%s\n", echo);
    }
    close(sock);
    return 0;
}
