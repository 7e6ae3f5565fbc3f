/* qctl.c: our C for the slides' qctl (slides ch. 8 §8.3, slide 23 describes it and shows its
 * run, not its code), for tests/interop.rs. The Korean labels are slide 23's as the seed's text
 * has them (its PDF extraction lost the spaces between words).
 *
 *   qctl KEY    msgget(key, 0), msgctl(IPC_STAT), print, msgctl(IPC_RMID)
 */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/msg.h>

int main(int argc, char *argv[])
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s KEY\n", argv[0]);
        return 2;
    }
    key_t key = (key_t) strtol(argv[1], NULL, 0);
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
