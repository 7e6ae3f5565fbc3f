/* mkq_qctl.c: our C for the slides' mkq and qctl (slides ch. 8 §8.3: slides 17-18 and 23 describe
 * them and show their runs, not their code), for tests/interop.rs. The mode 0666 is the one slide
 * 23's qctl run shows; the Korean labels are slide 23's as the seed's text has them (its PDF
 * extraction lost the spaces between words).
 *
 *   mkq_qctl mkq KEY    msgget(key, IPC_CREAT | 0666), then msgget(key, 0); leaves the queue
 *   mkq_qctl qctl KEY   msgget(key, 0), msgctl(IPC_STAT), print, msgctl(IPC_RMID)
 */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

static int mkq(key_t key)
{
    int qid = msgget(key, IPC_CREAT | 0666);
    if (qid == -1) {
        perror("msgget");
        return 1;
    }
    printf("created queue id = %d\n", qid);
    printf("key is = %d\n", key);
    qid = msgget(key, 0);
    if (qid == -1) {
        perror("msgget");
        return 1;
    }
    printf("opened queue id = %d\n", qid);
    return 0;
}

static int qctl(key_t key)
{
    int qid = msgget(key, 0);
    if (qid == -1) {
        perror("msgget");
        return 1;
    }
    struct msqid_ds ds;
    if (msgctl(qid, IPC_STAT, &ds) == -1) {
        perror("msgctl(IPC_STAT)");
        return 1;
    }
    printf("큐의최대바이트수 : %lu\n", (unsigned long) ds.msg_qbytes);
    printf("큐의유효사용자 UID : %d\n", (int) ds.msg_perm.uid);
    printf("큐의유효사용자 GID : %d\n", (int) ds.msg_perm.gid);
    printf("큐접근권한 : %#o\n", (unsigned) (ds.msg_perm.mode & 0777));
    if (msgctl(qid, IPC_RMID, NULL) == -1) {
        perror("msgctl(IPC_RMID)");
        return 1;
    }
    printf("메시지큐 %d 삭제됨\n", qid);
    return 0;
}

int main(int argc, char *argv[])
{
    if (argc == 3 && strcmp(argv[1], "mkq") == 0)
        return mkq((key_t) strtol(argv[2], NULL, 0));
    if (argc == 3 && strcmp(argv[1], "qctl") == 0)
        return qctl((key_t) strtol(argv[2], NULL, 0));
    fprintf(stderr, "usage: %s mkq KEY | qctl KEY\n", argv[0]);
    return 2;
}
