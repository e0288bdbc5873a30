/*
 * A TCP proxy on 127.0.0.1 that delays every chunk by a fixed one-way time, in both directions,
 * preserving order per connection: a Lambda -> ElastiCache round trip on one machine, where
 * `tc netem` is not available. bench/latency/native-proxy.ts compiles and drives it.
 *
 * Why C and not Node: Node's timers have ~1 ms granularity, so a Node proxy must spin to hit
 * 0.25 ms deadlines, burning one of the machine's two cores while jobs are in flight. Here a
 * timerfd (a kernel high-resolution timer, absolute CLOCK_MONOTONIC deadline) wakes the proxy for
 * the earliest due chunk and epoll wakes it for arrivals, which are timestamped at once: no spin.
 *
 * Usage: delay-proxy TARGET_PORT. Prints "port N" once listening, then reads commands on stdin,
 * one per line, and answers each with one JSON line on stdout:
 *   delay MICROS   set the one-way delay (answers {"delay":MICROS})
 *   stats          forwarding lateness since the last stats/delay, CPU time so far
 * Exits when stdin closes (the orchestrator ended).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 64
#define READ_SIZE 65536
#define HIST_MAX 100000 /* lateness histogram, 1 µs buckets up to 100 ms */

struct chunk {
  struct chunk *next;
  int64_t due;
  size_t len, off;
  char data[];
};

/* One direction of one connection: chunks read from `in`, written to `out` when due. */
struct line {
  int in, out;
  struct chunk *head, *tail;
  int out_blocked; /* the kernel send buffer was full: wait for EPOLLOUT */
};

struct conn {
  int used;
  struct line up, down; /* client -> server, server -> client */
};

static struct conn conns[MAX_CONN];
static int64_t one_way_ns = 0;
static uint32_t hist[HIST_MAX + 1];
static uint64_t hist_n = 0;
static int ep, tfd;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

/* epoll data: conn index * 4 + role (0 client fd, 1 server fd), or negative for special fds. */
static void watch(int fd, uint64_t tag, uint32_t events, int op) {
  struct epoll_event ev = {.events = events, .data.u64 = tag};
  epoll_ctl(ep, op, fd, &ev);
}

static void close_conn(int i) {
  struct conn *c = &conns[i];
  if (!c->used) return;
  struct line *ls[2] = {&c->up, &c->down};
  for (int k = 0; k < 2; k++) {
    struct chunk *ch = ls[k]->head;
    while (ch) {
      struct chunk *n = ch->next;
      free(ch);
      ch = n;
    }
  }
  close(c->up.in);
  close(c->up.out);
  memset(c, 0, sizeof *c);
}

static void record(int64_t late_ns) {
  int64_t us = late_ns < 0 ? 0 : late_ns / 1000;
  hist[us > HIST_MAX ? HIST_MAX : us]++;
  hist_n++;
}

/* Writes every due chunk of a line; returns -1 if the connection broke. */
static int flush_line(struct line *l, int64_t now, uint64_t tag) {
  while (l->head && l->head->due <= now && !l->out_blocked) {
    struct chunk *ch = l->head;
    if (ch->off == 0) record(now - ch->due);
    ssize_t w = write(l->out, ch->data + ch->off, ch->len - ch->off);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      l->out_blocked = 1;
      watch(l->out, tag, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
      break;
    }
    if (w <= 0) return -1;
    ch->off += (size_t)w;
    if (ch->off < ch->len) continue;
    l->head = ch->next;
    if (!l->head) l->tail = NULL;
    free(ch);
  }
  return 0;
}

static void arm_timer(void) {
  int64_t next = INT64_MAX;
  for (int i = 0; i < MAX_CONN; i++) {
    if (!conns[i].used) continue;
    struct line *ls[2] = {&conns[i].up, &conns[i].down};
    for (int k = 0; k < 2; k++)
      if (ls[k]->head && !ls[k]->out_blocked && ls[k]->head->due < next) next = ls[k]->head->due;
  }
  struct itimerspec its = {0};
  if (next != INT64_MAX) {
    if (next <= 0) next = 1;
    its.it_value.tv_sec = next / 1000000000;
    its.it_value.tv_nsec = next % 1000000000;
  }
  timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int read_into(struct line *l) {
  char buf[READ_SIZE];
  for (;;) {
    ssize_t r = read(l->in, buf, sizeof buf);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (r <= 0) return -1;
    struct chunk *ch = malloc(sizeof *ch + (size_t)r);
    ch->next = NULL;
    ch->due = now_ns() + one_way_ns;
    ch->len = (size_t)r;
    ch->off = 0;
    memcpy(ch->data, buf, (size_t)r);
    if (l->tail) l->tail->next = ch;
    else l->head = ch;
    l->tail = ch;
    if ((size_t)r < sizeof buf) return 0;
  }
}

static void accept_conn(int lfd, int target_port) {
  int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
  if (cfd < 0) return;
  int i = 0;
  while (i < MAX_CONN && conns[i].used) i++;
  int sfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)target_port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (i == MAX_CONN || sfd < 0 || connect(sfd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    close(cfd);
    if (sfd >= 0) close(sfd);
    return;
  }
  nonblock(sfd);
  int one = 1;
  setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct conn *c = &conns[i];
  c->used = 1;
  c->up = (struct line){.in = cfd, .out = sfd};
  c->down = (struct line){.in = sfd, .out = cfd};
  watch(cfd, (uint64_t)i * 4 + 0, EPOLLIN, EPOLL_CTL_ADD);
  watch(sfd, (uint64_t)i * 4 + 1, EPOLLIN, EPOLL_CTL_ADD);
}

static void print_stats(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double q[3] = {0.5, 0.99, 1.0}, v[3] = {0, 0, 0};
  for (int k = 0; k < 3; k++) {
    uint64_t want = (uint64_t)(q[k] * (double)hist_n), seen = 0;
    if (want == 0 && hist_n > 0) want = 1;
    for (int us = 0; us <= HIST_MAX && hist_n > 0; us++) {
      seen += hist[us];
      if (seen >= want) {
        v[k] = us;
        break;
      }
    }
  }
  printf("{\"chunks\":%llu,\"latenessMicros\":{\"p50\":%.0f,\"p99\":%.0f,\"max\":%.0f},\"cpu\":{\"user\":%ld,\"system\":%ld}}\n", (unsigned long long)hist_n, v[0], v[1], v[2],
         (long)(ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec), (long)(ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec));
  fflush(stdout);
  memset(hist, 0, sizeof hist);
  hist_n = 0;
}

static int command(void) {
  static char buf[256];
  static size_t have = 0;
  ssize_t r = read(0, buf + have, sizeof buf - 1 - have);
  if (r <= 0) return -1;
  have += (size_t)r;
  char *nl;
  while ((nl = memchr(buf, '\n', have))) {
    *nl = 0;
    long us;
    if (sscanf(buf, "delay %ld", &us) == 1) {
      one_way_ns = (int64_t)us * 1000;
      memset(hist, 0, sizeof hist);
      hist_n = 0;
      printf("{\"delay\":%ld}\n", us);
      fflush(stdout);
    } else if (strcmp(buf, "stats") == 0) print_stats();
    size_t used = (size_t)(nl - buf) + 1;
    memmove(buf, nl + 1, have - used);
    have -= used;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s TARGET_PORT\n", argv[0]);
    return 2;
  }
  int target = atoi(argv[1]);
  prctl(PR_SET_TIMERSLACK, 1UL); /* wake on the deadline, not up to 50 µs after it */
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof sa;
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 16) < 0 || getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
    perror("listen");
    return 1;
  }
  ep = epoll_create1(0);
  tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  const uint64_t LISTEN = UINT64_MAX, TIMER = UINT64_MAX - 1, STDIN = UINT64_MAX - 2;
  watch(lfd, LISTEN, EPOLLIN, EPOLL_CTL_ADD);
  watch(tfd, TIMER, EPOLLIN, EPOLL_CTL_ADD);
  watch(0, STDIN, EPOLLIN, EPOLL_CTL_ADD);
  printf("port %d\n", ntohs(sa.sin_port));
  fflush(stdout);

  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(ep, evs, 64, -1);
    if (n < 0 && errno == EINTR) continue;
    for (int e = 0; e < n; e++) {
      uint64_t tag = evs[e].data.u64;
      if (tag == LISTEN) accept_conn(lfd, target);
      else if (tag == STDIN) {
        if (command() < 0) return 0;
      } else if (tag == TIMER) {
        uint64_t expirations;
        (void)!read(tfd, &expirations, sizeof expirations);
      } else {
        int i = (int)(tag / 4), role = (int)(tag % 4);
        struct conn *c = &conns[i];
        if (!c->used) continue;
        struct line *reading = role == 0 ? &c->up : &c->down;   /* data arriving on this fd */
        struct line *writing = role == 0 ? &c->down : &c->up;   /* data leaving through this fd */
        if (evs[e].events & EPOLLOUT) {
          writing->out_blocked = 0;
          watch(writing->out, tag, EPOLLIN, EPOLL_CTL_MOD);
        }
        if ((evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && read_into(reading) < 0) close_conn(i);
      }
    }
    /* Forward everything due (or at once with no delay), then sleep until the next deadline. */
    int64_t now = now_ns();
    for (int i = 0; i < MAX_CONN; i++) {
      if (!conns[i].used) continue;
      if (flush_line(&conns[i].up, now, (uint64_t)i * 4 + 1) < 0 || flush_line(&conns[i].down, now, (uint64_t)i * 4 + 0) < 0) close_conn(i);
    }
    arm_timer();
  }
}
