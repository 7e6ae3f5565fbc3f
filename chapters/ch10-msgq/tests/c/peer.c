/* peer.c: a C program of our own, for tests/interop.rs. It speaks the wire format qsend and qrecv
 * speak, the C one: struct { long mtype; char mtext[]; }, text sent with its terminating NUL.
 *
 *   peer send KEY TYPE TEXT   msgsnd one message and say so, as qsend does
 *   peer recv KEY TYPE        msgrcv one message (IPC_NOWAIT) and print it, as qrecv does
 *
 * KEY and TYPE may be decimal or 0x hex.
 */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/types.h>

#define MAX_TEXT 8192

struct message {
    long mtype;
    char mtext[MAX_TEXT];
};

int main(int argc, char *argv[])
{
    int sending = argc == 5 && strcmp(argv[1], "send") == 0;
    int receiving = argc == 4 && strcmp(argv[1], "recv") == 0;
    if (!sending && !receiving) {
        fprintf(stderr, "usage: %s send KEY TYPE TEXT | recv KEY TYPE\n", argv[0]);
        return 2;
    }
    key_t key = (key_t) strtoul(argv[2], NULL, 0);
    long type = strtol(argv[3], NULL, 0);

    int msqid = msgget(key, 0);
    if (msqid == -1) {
        perror("peer: msgget");
        return 1;
    }

    struct message msg;
    if (sending) {
        size_t len = strlen(argv[4]) + 1; /* the text and its NUL */
        if (len > MAX_TEXT) {
            fprintf(stderr, "peer: text longer than %d bytes\n", MAX_TEXT - 1);
            return 1;
        }
        msg.mtype = type;
        memcpy(msg.mtext, argv[4], len);
        if (msgsnd(msqid, &msg, len, 0) == -1) {
            perror("peer: msgsnd");
            return 1;
        }
        printf("sent: type=%ld; length=%zu\n", type, len);
    } else {
        ssize_t len = msgrcv(msqid, &msg, MAX_TEXT, type, IPC_NOWAIT);
        if (len == -1) {
            perror("peer: msgrcv");
            return 1;
        }
        /* The body is the text up to its NUL (all of it if there is none). */
        size_t text_len = 0;
        while (text_len < (size_t) len && msg.mtext[text_len] != '\0')
            text_len++;
        printf("type=%ld; length=%zd; body=%.*s\n", msg.mtype, len, (int) text_len, msg.mtext);
    }
    return 0;
}
