/* qsnd_pid.c: our C for the slides' qsnd_pid (slides ch. 8 §8.3, slide 21 describes it and shows
 * its run and its msgctl(qid, IPC_RMID, 0); the rest is ours), for tests/interop.rs. Korean lines
 * as the seed's text has them (spaces lost in its PDF extraction).
 *
 *   qsnd_pid KEY   the child posts a line typed with getppid(); the parent receives type getpid(),
 *                  prints it and removes the queue
 *
 * Ours, for a test that reads a pipe: stdout is line-buffered, so each line leaves at once and
 * nothing buffered before fork() is printed twice.
 */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TEXT 512

struct message {
    long mtype;
    char mtext[MAX_TEXT];
};

int main(int argc, char *argv[])
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s KEY\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    key_t key = (key_t) strtol(argv[1], NULL, 0);
    int qid = msgget(key, IPC_CREAT | 0666);
    if (qid == -1) {
        perror("msgget");
        return 1;
    }
    struct message msg;
    pid_t pid = fork();
    if (pid == -1) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        printf("Enter message to post :\n");
        if (fgets(msg.mtext, MAX_TEXT, stdin) == NULL)
            exit(1);
        msg.mtext[strcspn(msg.mtext, "\n")] = '\0';
        msg.mtype = getppid();
        if (msgsnd(qid, &msg, strlen(msg.mtext) + 1, 0) == -1) {
            perror("msgsnd");
            exit(1);
        }
        printf("message posted\n");
        exit(0);
    }
    printf("%d 프로세스메시지큐읽기대기중..\n", (int) getpid());
    ssize_t len = msgrcv(qid, &msg, MAX_TEXT, getpid(), 0);
    if (len == -1) {
        perror("msgrcv");
        return 1;
    }
    printf("recv = %zd bytes\n", len);
    printf("type = %ld\n", msg.mtype);
    printf("수신프로세스 PID= %d\n", (int) getpid());
    printf("value = %s\n", msg.mtext);
    msgctl(qid, IPC_RMID, 0);
    wait(NULL);
    return 0;
}
