/*
 * The yearly trust indicators (docs/indicators.md): what the company
 * promises its clients, counted from the verified, signed history only.
 * Every figure is computed from events' trailers and clear records, so an
 * auditor's export gives the same figures as the office; with a client
 * filter, the missions and refusals of that client alone (which takes the
 * keys an admin holds, to read the encrypted client names).
 */
#ifndef EVAULT_REPORT_H
#define EVAULT_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "evault/repo.h"

/* The figures, in the order a report prints them. */
typedef enum evault_indicator {
	EVAULT_IND_CREATED,           /* missions created in the year */
	EVAULT_IND_CLOSED,            /* missions closed in the year */
	EVAULT_IND_DUE,               /* dossiers due in the year */
	EVAULT_IND_ON_TIME,           /* of those: handed over by the due date */
	EVAULT_IND_LATE,              /* handed over after it */
	EVAULT_IND_OVERDUE,           /* not handed over, the date passed */
	EVAULT_IND_PENDING,           /* not handed over, the date still ahead */
	EVAULT_IND_DUE_MOVED,         /* due dates changed in the year (mission.due over a date) */
	EVAULT_IND_HANDOVERS,         /* handovers recorded in the year */
	EVAULT_IND_CLOSED_NO_DUE,     /* missions closed in the year without a due date */
	EVAULT_IND_CLOSE_TO_HANDOVER, /* closed in the year and handed over: the median's sample */
	EVAULT_IND_CODES_ROTATED,     /* access codes of the missions closed in the year */
	EVAULT_IND_CODES_REPORTED,
	EVAULT_IND_CODES_DAMAGED,
	EVAULT_IND_CONTENT_REFUSED,    /* files refused by the content rules, all kinds */
	EVAULT_IND_PHOTOS_REFUSED,     /* images and videos refused (no authorisation) */
	EVAULT_IND_AUDIO_REFUSED,      /* voice recordings refused */
	EVAULT_IND_AUTHORISATIONS,     /* clients' photo authorisations recorded */
	EVAULT_IND_REFUSED,            /* missions refused, all categories */
	EVAULT_IND_REFUSED_EMPLOYEE,   /* employee-surveillance */
	EVAULT_IND_REFUSED_PRIVATE,    /* private-filming */
	EVAULT_IND_REFUSED_COURT,      /* court-order */
	EVAULT_IND_REFUSED_COMPETENCE, /* competence */
	EVAULT_IND_REFUSED_OTHER,      /* other */
	EVAULT_IND_ERASURES,           /* closes in the year: work and codes erased */
	EVAULT_IND_ERASURES_NO_DEVICE, /* of those: no device ever held the mission */
	EVAULT_IND_ERASURES_CONFIRMED, /* every device that held it confirmed */
	EVAULT_IND_ERASURES_WAITING,   /* a device has not confirmed yet */
	EVAULT_IND_EXPIRED,            /* dossiers destroyed at the end of retention */
	EVAULT_IND_COUNT
} evault_indicator;

/* The indicator's stable name (JSON keys, --explain): "missions_closed", … */
const char *evault_indicator_name(evault_indicator i);

typedef struct evault_report_opts {
	unsigned version;
	int year;           /* 2000 to 2999, UTC */
	const char *client; /* only this client's missions and refusals, or NULL */
	bool explain;       /* keep, per figure, the events it was computed from */
} evault_report_opts;
#define EVAULT_REPORT_OPTS_VERSION 1
#define EVAULT_REPORT_OPTS_INIT                                                                    \
	{                                                                                          \
		EVAULT_REPORT_OPTS_VERSION, 0, NULL, false                                         \
	}

/* One event a figure was counted from (--explain). */
typedef struct evault_report_event {
	uint64_t seq;
	char commit[13];  /* its first 12 hex digits */
	char mission[65]; /* the mission id, "" for none (a refused mission) */
} evault_report_event;

typedef struct evault_report {
	int year;
	char vault_id[33];
	/* the history the figures are computed from: its verified head */
	char head[41];
	uint64_t seq;
	int64_t as_of;   /* the head's time: "pending" and "overdue" are as of then */
	uint64_t events; /* events read */
	uint64_t value[EVAULT_IND_COUNT];
	/* with opts.explain: per figure, its events, oldest first */
	bool explained;
	evault_report_event *explain[EVAULT_IND_COUNT];
	size_t nexplain[EVAULT_IND_COUNT];
	/* median days from close to the first handover (of the
	 * EVAULT_IND_CLOSE_TO_HANDOVER sample), in tenths of a day; -1: none */
	int64_t median_tenths;
	/* with a client: missions of the client the history names, and those
	 * whose client could not be read (expired: their records are gone) */
	uint64_t client_missions;
	uint64_t unreadable_missions;
	uint64_t unreadable_refusals; /* sealed to other admins only */
} evault_report;

/*
 * Computes the indicators of one year from the repository's history,
 * verified first as every command's is. A client filter needs an admin
 * (who holds the keys of the clients' names). Replicas are refused: the
 * figures read the whole history (run it at the office or on an export).
 */
int evault_report_indicators(evault_report **out, evault_repo *repo,
			     const evault_report_opts *opts);
/* The same from an export (evault audit export), verified in full first,
 * without a repository or any key; no client filter. */
int evault_report_indicators_bundle(evault_report **out, const char *path,
				    const evault_report_opts *opts);
void evault_report_free(evault_report *r);

#endif
