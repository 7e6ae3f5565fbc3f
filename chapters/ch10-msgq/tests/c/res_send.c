/* res_send.c: our C for the slides' reply process (slides ch. 8 §8.3: slides 24 and 26 name
 * res_send.c, RES_SEND_PROC, and pass it KEY and PORT; its code is not shown), for
 * tests/interop.rs. It reads the slides' own msg_t (slide 25) off msgq_echoserv's queue.
 * Ours, where the slides say nothing: MAX_BUFSZ, the message type 1, msgsz, and the socket. Given
 * only KEY and PORT, it cannot have the server's socket: it makes its own and replies from it.
 *
 *   res_send KEY PORT
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_BUFSZ 4001 /* msgq_echoserv's 4000 bytes of data and the NUL */

typedef struct _msg {
    long msg_type;
    struct sockaddr_in addr;
    char msg_text[MAX_BUFSZ];
} msg_t;

int main(int argc, char *argv[])
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s KEY PORT\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* ours: a test reads the lines through a pipe */
    key_t key = (key_t) strtol(argv[1], NULL, 0);
    int msqid = msgget(key, 0);
    if (msqid == -1) {
        perror("msgget fail ");
        return 1;
    }
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    if (sock == -1) {
        perror("socket fail ");
        return 1;
    }
    msg_t pmsg;
    for (;;) {
        if (msgrcv(msqid, &pmsg, sizeof(msg_t) - sizeof(long), 1, 0) == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EIDRM || errno == EINVAL)
                return 0; /* the server removed its queue: done */
            perror("msgrcv fail ");
            return 1;
        }
        printf("reply process PID = %d %s\n", (int) getpid(), pmsg.msg_text);
        if (sendto(sock, pmsg.msg_text, strlen(pmsg.msg_text), 0, (struct sockaddr *) &pmsg.addr,
                   sizeof(pmsg.addr)) == -1)
            perror("sendto fail ");
    }
}
