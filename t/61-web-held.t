# t/61-web-held.t - the customer's own list of held mail on the web page
# (web(8sluice) /mail, issue 11 item 4), driven by curl with the session
# cookie and read by headless Chromium:
#  - the list shows the customer's held messages, only its own, with
#    sender, Subject (RFC 2047 decoded, HTML-escaped: a <script> Subject
#    is text), size, age and when it goes back;
#  - POST only, with the session's own CSRF token and from this site:
#    no token, a wrong one, another session's token, a foreign Origin,
#    and a GET are refused (403, or the list) and change nothing;
#  - a customer cannot act on another customer's message (404, the file
#    stays), and on a message for two customers deletes only its own
#    recipients;
#  - delete removes the queue file; return to sender sends a DSN to the
#    sender (a sink) and logs it; release of one domain, then of all,
#    delivers to the site (a sink); each action logged with the login;
#  - 2,000 messages page 50 at a time with a queue-ID cursor, every
#    message once, in order; previous-page links go back the same way.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time);

use SluiceTest qw(tool free_port wait_for run_cmd spew slurp);
use WebTest qw(curl header csrf_of chromium_dom customer_passwd web_stopped_ok
    web_login);
use Sink;

my $t0 = time;
my $BUILDDIR = $ENV{SLUICE_BUILDDIR} // 'build';
my $wport = free_port();
my $siteport = free_port();
my $s = SluiceTest->new(
    conf => {
	web_listen => "127.0.0.1:$wport",
	trigger_min_interval => '1s',
	trigger_client_limit => 1000,
    },
    domains => ['placeholder']);
my $dir = $s->dir;
my $senders = Sink->start(dir => "$dir/senders");
# probe=no everywhere: only the customer's own release lets mail go.
$s->set_domains(
	"site.example mode=hold route=[127.0.0.1]:$siteport probe=no owner=demo",
	"site2.example mode=hold route=[127.0.0.1]:$siteport probe=no owner=demo",
	"other.example mode=hold route=[127.0.0.1]:\@DEAD\@ probe=no owner=other",
	"bulk.example mode=hold route=[127.0.0.1]:\@DEAD\@ probe=no owner=bulk",
	"sender.example mode=backup route=[127.0.0.1]:" . $senders->port . ' probe=no');
ok(customer_passwd($s, $_, "$_-secret"), "sluice passwd $_") for qw(demo other bulk);

# 2,000 messages for bulk.example, committed before qmgr starts (it
# indexes them at start), as smtpd would have.
my $NBULK = 2000;
my ($rc, $out, $err) = run_cmd(["$BUILDDIR/t/queue_inject", '-n', $NBULK, $s->qdir,
    'bulk-sender@sender.example', 'u@bulk.example'],
    stdin => "Subject: bulk\r\n\r\nbulk body\r\n", timeout => 300);
my @bulk = sort grep { /^[0-9A-F]{20}$/ } split /\n/, $out;
is(scalar(@bulk), $NBULK, "$NBULK messages for bulk.example injected") or diag($err);
if ($> == 0) {
	# The daemons run as mail_owner: the files must be theirs, as smtpd's are.
	my @pw = getpwnam('sluice');
	chown $pw[2], $pw[3], glob($s->qdir . '/msg/*/*') if @pw;
}
$s->start;
my $base = "http://127.0.0.1:$wport";
ok(wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$wport") }, 20),
    'web listens') or BAIL_OUT("web did not start:\n" . $s->log_text);

# mail FROM, TO, SUBJECT - one message with swaks; its queue ID
sub mail {
	my ($from, $to, $subject) = @_;
	my ($rc, $out) = $s->swaks('--from', $from, '--to', $to, '--header',
	    "Subject: $subject");
	my ($qid) = $out =~ /queued as ([0-9A-F]{20})/;
	diag("swaks: exit $rc: $out") unless $qid;
	return $qid // 'none';
}

my $script_subject = '<script>alert(1)</script> & more';
my $m_script = mail('alice@sender.example', 'u@site.example', $script_subject);
my $m_enc = mail('alice@sender.example', 'u@site.example', '=?UTF-8?B?w6l0w6k=?= report');
my $m_shared = mail('alice@sender.example', 'a@site.example,b@other.example', 'for two');
my $m_other = mail('alice@sender.example', 'c@other.example', 'only other');
my $m_del = mail('alice@sender.example', 'd@site.example', 'delete me');
my $m_ret = mail('bob@sender.example', 'r@site.example', 'return me');
my $m_s2 = mail('alice@sender.example', 'x@site2.example', 'second domain');
my $m_long = mail('alice@sender.example', 'l@site.example', 'long ' . ('x' x 300));
ok(wait_for(sub { scalar($s->queue_files) == $NBULK + 8 }, 30), 'all messages queued');

# rows HTML - the queue IDs of the list's rows, in page order
sub rows {
	my ($html) = @_;
	my @ids = ($html // '') =~ /<tr class="msg" id="m-([0-9A-F]{20})">/g;
	return @ids;
}

# row HTML, ID - the cells of one row by their class
sub row {
	my ($html, $id) = @_;
	my ($r) = ($html // '') =~ /<tr class="msg" id="m-\Q$id\E">(.*?)<\/tr>/s or return {};
	my %c;
	while ($r =~ /<td class="(\w+)">(.*?)<\/td>/sg) {
		$c{$1} = $2;
	}
	return \%c;
}

# post JAR, PATH, FIELDS, CURL_ARGS - a form posted with curl
sub post {
	my ($jar, $path, $fields, @args) = @_;
	return curl($jar, @args, map({ ('--data-urlencode', "$_=$fields->{$_}") }
	    sort keys %$fields), "$base$path");
}

# --- not logged in: the list is not shown --------------------------------
my $r = curl("$dir/anon", "$base/mail");
is($r->{code}, '303', 'GET /mail without a login: redirected');
is(header($r, 'Location'), '/', 'to the login form');

# --- the list, as curl and Chromium get it --------------------------------
my $jar = "$dir/demo-cookies";
$r = web_login($base, $jar, 'demo', 'demo-secret');
is($r->{code}, '303', 'demo logs in');
# The login released both domains; the site is down, so both gates close.
ok($s->wait_log(qr/gate: domain=site\.example, state=held, reason=connection failed/)
    && $s->wait_log(qr/gate: domain=site2\.example, state=held, reason=connection failed/),
    'the refused connections closed the gates');
$r = curl($jar, "$base/status");
like($r->{body}, qr/<a href="\/mail">/, 'the status page links to the list');
$r = curl($jar, "$base/mail");
is($r->{code}, '200', 'GET /mail: 200');
my $page = $r->{body};
is_deeply([rows($page)], [sort($m_script, $m_enc, $m_shared, $m_del, $m_ret, $m_s2, $m_long)],
    "the list shows demo's seven messages in queue ID order, not other's only one");
is(row($page, $m_long)->{subject}, 'long ' . ('x' x 75) . '...', 'a long Subject is cut at 80 characters');
my $c = row($page, $m_script);
is($c->{subject}, '&lt;script&gt;alert(1)&lt;/script&gt; &amp; more', 'the Subject is escaped');
unlike($page, qr/<script/i, 'no script element on the page');
is($c->{from}, 'alice@sender.example', 'the sender');
like($c->{size}, qr/^\d+(\.\d)? (B|KB)$/, "the size ($c->{size})");
like($c->{age}, qr/^\d+(s|m \d+s)$/, "the age ($c->{age})");
like($c->{expiry}, qr/^in 4d 23h$/, "returned in five days ($c->{expiry})");
is($c->{domain}, 'site.example', 'the domain');
is(row($page, $m_enc)->{subject}, "\xc3\xa9t\xc3\xa9 report", 'an RFC 2047 Subject decoded');
is(row($page, $m_s2)->{domain}, 'site2.example', 'the second domain');
my $csrf = csrf_of($page);
ok($csrf, 'the page has the CSRF token');
like($page, qr/<form method="post" action="\/mail\/delete">/, 'delete is a POST form');
like($page, qr/Release all my domains/, 'two domains: release all is offered');
unlike($page, qr/class="next"/, 'one page: no next link');
spew("$dir/held.html", $page);
my $dom = chromium_dom("file://$dir/held.html");
ok(defined $dom, 'Chromium loads the list');
like($dom // '', qr/<td class="subject">&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; more<\/td>/,
    'Chromium shows the <script> Subject as text');
unlike($dom // '', qr/<script/i, 'and made no script element of it');
like($dom // '', qr/<td class="subject">\x{e9}t\x{e9} report<\/td>|<td class="subject">\xc3\xa9t\xc3\xa9 report<\/td>/,
    'Chromium shows the decoded Subject');
like($dom // '', qr/<td class="from">bob\@sender\.example<\/td>/, 'and the senders');
my @domrows = ($dom // '') =~ /<tr class="msg" id="m-([0-9A-F]{20})">/g;
is(scalar(@domrows), 7, 'Chromium sees seven rows');

# --- CSRF, origin, method: refused, and nothing changes --------------------
my $other_jar = "$dir/other-cookies";
$r = web_login($base, $other_jar, 'other', 'other-secret');
is($r->{code}, '303', 'other logs in (another session)');
my $other_page = curl($other_jar, "$base/mail")->{body};
my $other_csrf = csrf_of($other_page);
is_deeply([rows($other_page)], [sort($m_shared, $m_other)], "other's list: its two");
my $del_path = $s->queue_file_path($m_del);
$r = post($jar, '/mail/delete', { id => $m_del });
is($r->{code}, '403', 'delete without a token: 403');
$r = post($jar, '/mail/delete', { id => $m_del, csrf => '0' x 64 });
is($r->{code}, '403', 'delete with a wrong token: 403');
$r = post($jar, '/mail/delete', { id => $m_del, csrf => $other_csrf });
is($r->{code}, '403', "delete with another session's token: 403");
$r = post($jar, '/mail/delete', { id => $m_del, csrf => $csrf }, '-H',
    'Origin: http://evil.example');
is($r->{code}, '403', 'delete from another origin: 403');
$r = post($jar, '/mail/delete', { id => $m_del, csrf => $csrf }, '-H',
    'Referer: http://evil.example/page');
is($r->{code}, '403', 'delete with another site as referer: 403');
$r = curl($jar, "$base/mail/delete?id=$m_del&csrf=$csrf");
is($r->{code}, '303', 'GET /mail/delete: redirected, never acts');
ok($s->wait_log(qr/refuse delete: user=demo, client=127\.0\.0\.1: the form came from another site/),
    'the refusals are logged');
# Each refusal was answered after it was decided: the list now shows
# whether any of them acted.
ok(-e $del_path, 'the message is still queued');
ok((grep { $_ eq $m_del } rows(curl($jar, "$base/mail")->{body})), 'and still listed');
is($s->log_count(qr/\Q$m_del\E: (deleted|removed)/), 0, 'nothing deleted it');

# --- another customer's message: not found, and untouched -----------------
$r = post($jar, '/mail/delete', { id => $m_other, csrf => $csrf });
is($r->{code}, '404', "delete of other's message by demo: 404");
$r = post($jar, '/mail/return', { id => $m_other, csrf => $csrf });
is($r->{code}, '404', "return of other's message by demo: 404");
$r = post($jar, '/mail/release', { domain => 'other.example', csrf => $csrf });
is($r->{code}, '403', "release of other's domain by demo: 403");
ok(-e $s->queue_file_path($m_other), "other's message is still queued");
is_deeply([rows(curl($other_jar, "$base/mail")->{body})], [sort($m_shared, $m_other)],
    "other's list unchanged");

# --- delete -------------------------------------------------------------
$r = post($jar, '/mail/delete', { id => $m_del, csrf => $csrf });
is($r->{code}, '303', 'delete: 303');
is(header($r, 'Location'), '/mail?done=deleted', 'back to the list with a notice');
ok(!-e $del_path, 'the queue file is gone');
like($s->log_text, qr/web\[\d+\]: \Q$m_del\E: deleted by customer demo from \[127\.0\.0\.1\] \(domain site\.example\)/,
    'web logs the action with the login');
like($s->log_text, qr/qmgr\[\d+\]: \Q$m_del\E: removed by customer demo from \[127\.0\.0\.1\] \(recipients of site\.example\)/,
    'qmgr logs it as an operator action');
$r = curl($jar, "$base/mail?done=deleted");
like($r->{body}, qr/The message was deleted\./, 'the list says so');
ok(!(grep { $_ eq $m_del } rows($r->{body})), 'and no longer shows it');

# A message for two customers: only demo's recipient goes.
$r = post($jar, '/mail/delete', { id => $m_shared, csrf => $csrf });
is($r->{code}, '303', 'delete of the shared message: 303');
ok(-e $s->queue_file_path($m_shared), "the file stays for other's recipient");
ok(!(grep { $_ eq $m_shared } rows(curl($jar, "$base/mail")->{body})), "gone from demo's list");
is_deeply([rows(curl($other_jar, "$base/mail")->{body})], [sort($m_shared, $m_other)],
    "still in other's list");
my @left = map { map { $_->{address} } @{ $_->{recipients} // [] } }
    grep { ($_->{queue_id} // '') eq $m_shared } $s->queue_list;
is_deeply([sort @left], ['b@other.example'],
    'sluice queue list: only b@other.example is left pending')
    or diag(explain([$s->queue_list]));

# --- return to sender ------------------------------------------------------
$r = post($jar, '/mail/return', { id => $m_ret, csrf => $csrf });
is($r->{code}, '303', 'return to sender: 303');
is(header($r, 'Location'), '/mail?done=returned', 'with a notice');
ok(wait_for(sub { grep { $_->{from} eq '' && grep { $_ eq 'bob@sender.example' } @{ $_->{rcpt} } }
    $senders->messages }, 30), 'the sender gets a DSN');
my ($dsn) = grep { $_->{from} eq '' } $senders->messages;
like($dsn->{data} // '', qr/returned to the sender by the recipient/, 'saying who returned it');
like($dsn->{data} // '', qr/Final-Recipient: rfc822; ?r\@site\.example/i, 'for r@site.example');
like($s->log_text, qr/\Q$m_ret\E: to=<r\@site\.example>, relay=none, delay=\d+, dsn=5\.0\.0, status=bounced \(returned to the sender by the recipient\)/,
    'the bounced line');
like($s->log_text, qr/web\[\d+\]: \Q$m_ret\E: returned to the sender by customer demo from \[127\.0\.0\.1\] \(domain site\.example\)/,
    'web logs it with the login');
ok(!-e $s->queue_file_path($m_ret), 'the message left the queue');

# --- release one domain, then all ------------------------------------------
my $site = Sink->start(dir => "$dir/site", port => $siteport);
$r = post($jar, '/mail/release', { domain => 'site.example', csrf => $csrf });
is($r->{code}, '303', 'release site.example: 303');
is(header($r, 'Location'), '/mail?done=released', 'with a notice');
ok(wait_for(sub { scalar(grep { $_ ne $m_s2 } map { received_of($_) } $site->messages) >= 3 }, 30),
    'site.example\'s three messages reach the site');
ok($s->wait_log(qr/\Q$m_enc\E: removed/) && $s->wait_log(qr/\Q$m_script\E: removed/) &&
    $s->wait_log(qr/\Q$m_long\E: removed/), 'and leave the queue');
# The release of site.example is over: site2.example's mail was not part of it.
ok(-e $s->queue_file_path($m_s2), 'site2.example\'s message still waits');
$r = post($jar, '/mail/release', { all => 1, csrf => $csrf });
is($r->{code}, '303', 'release all: 303');
ok(wait_for(sub { grep { $_ eq $m_s2 } map { received_of($_) } $site->messages }, 30),
    'site2.example\'s message reaches the site');
# The site keeps a message before its 250: it is listed until qmgr has
# deliver's result and removed it.
ok($s->wait_log(qr/\Q$m_s2\E: removed/), 'and leaves the queue');
like($s->log_text, qr/web\[\d+\]: release: user=demo, client=127\.0\.0\.1, domain=site2\.example: ok/,
    'the release is logged with the login');
$r = curl($jar, "$base/mail");
is_deeply([rows($r->{body})], [], 'the list is empty');
like($r->{body}, qr/No mail is held for your domains\./, 'and says so');

# received_of MESSAGE - the queue ID in sluice's Received: header
sub received_of {
	my ($m) = @_;
	my ($id) = ($m->{data} // '') =~ /\(sluice\) with \S+ id ([0-9A-F]{20})\b/;
	return $id // '';
}

# --- 2,000 messages, 50 a page ------------------------------------------
my $bulk_jar = "$dir/bulk-cookies";
$r = web_login($base, $bulk_jar, 'bulk', 'bulk-secret');
is($r->{code}, '303', 'bulk logs in');
$r = curl($bulk_jar, "$base/mail");
my @p1 = rows($r->{body});
is(scalar(@p1), 50, 'page 1 has 50 rows');
is_deeply(\@p1, [@bulk[0 .. 49]], 'the first 50 queue IDs, in order');
my ($next) = $r->{body} =~ /<a class="next" href="\/mail\?after=([0-9A-F]{20})">/;
is($next, $bulk[49], 'the next link starts after the 50th');
unlike($r->{body}, qr/class="first"/, 'page 1 has no first-page link');
$r = curl($bulk_jar, "$base/mail?after=$next");
my @p2 = rows($r->{body});
is_deeply(\@p2, [@bulk[50 .. 99]], 'page 2: the next 50');
like($r->{body}, qr/<a class="first" href="\/mail">/, 'page 2 links back to the first');
my ($prev) = $r->{body} =~ /<a class="prev" href="\/mail\?before=([0-9A-F]{20})">/;
is($prev, $bulk[50], 'and to the page before its first row');
$r = curl($bulk_jar, "$base/mail?before=$prev");
is_deeply([rows($r->{body})], [@bulk[0 .. 49]], 'the previous page of page 2 is page 1');
unlike($r->{body}, qr/class="prev"/, 'with nothing before it');
my $id49 = $bulk[49];
like($r->{body}, qr/<a class="next" href="\/mail\?after=$id49">/, 'and its next link');
$r = curl($bulk_jar, "$base/mail?before=$bulk[1000]");
is_deeply([rows($r->{body})], [@bulk[950 .. 999]], 'a page before a late ID: the 50 before it');
my $id950 = $bulk[950];
like($r->{body}, qr/<a class="prev" href="\/mail\?before=$id950">/, 'with its own previous link');
my (%seen, $pages, $after);
my $dup = 0;
for ($pages = 0; $pages < 100; $pages++) {
	$r = curl($bulk_jar, "$base/mail" . (defined $after ? "?after=$after" : ''));
	my @ids = rows($r->{body});
	$dup += grep { $seen{$_}++ } @ids;
	($after) = $r->{body} =~ /<a class="next" href="\/mail\?after=([0-9A-F]{20})">/;
	last unless defined $after;
}
is($pages + 1, $NBULK / 50, 'every page, following next links: 40 pages');
is(scalar(keys %seen), $NBULK, 'every message once') or diag("$dup repeated");
is($dup, 0, 'none twice');
$r = curl($bulk_jar, "$base/mail?after=../../etc");
is($r->{code}, '400', 'a cursor that is not a queue ID: 400');

# --- the response headers of a page with action buttons --------------------
$r = curl($bulk_jar, "$base/mail");
is(header($r, 'Cache-Control'), 'no-store', 'the list: Cache-Control: no-store');
is(header($r, 'X-Frame-Options'), 'DENY', 'the list: X-Frame-Options: DENY (no clickjacking of its buttons)');
like(header($r, 'Content-Security-Policy') // '', qr/frame-ancestors 'none'/,
    "the list: CSP frame-ancestors 'none'");
my $bulk_csrf = csrf_of($r->{body});

# --- hostile forms: nothing acts --------------------------------------------
$r = post($bulk_jar, '/mail/delete', { id => $bulk[0], csrf => $bulk_csrf }, '-H', 'Origin: null');
is($r->{code}, '403', 'delete from Origin "null" (a sandboxed frame): 403');
$r = post($bulk_jar, '/mail/delete', { id => '../../../etc/passwd', csrf => $bulk_csrf });
is($r->{code}, '404', 'delete of an ID with path characters: 404');
$r = post($bulk_jar, '/mail/delete', { id => 'F' x 20, csrf => $bulk_csrf });
is($r->{code}, '404', 'delete of a well-formed ID that is not queued: 404');
ok($s->wait_log(qr/refuse delete: user=bulk, client=127\.0\.0\.1, id=\(bad\): no such message for this customer/),
    'the bad ID is logged as "(bad)", not as sent');
ok(-e $s->queue_file_path($bulk[0]), 'the message is still queued');

# --- a reload that gives the domain to another customer ---------------------
# The session still names bulk.example; qmgr checks the owner as it is now.
$s->set_domains(
	"site.example mode=hold route=[127.0.0.1]:$siteport probe=no owner=demo",
	"site2.example mode=hold route=[127.0.0.1]:$siteport probe=no owner=demo",
	"other.example mode=hold route=[127.0.0.1]:\@DEAD\@ probe=no owner=other",
	"bulk.example mode=hold route=[127.0.0.1]:\@DEAD\@ probe=no owner=other",
	"sender.example mode=backup route=[127.0.0.1]:" . $senders->port . ' probe=no');
is(($s->cli('reload'))[0], 0, 'sluice reload: bulk.example now belongs to other');
# The list is the event that shows qmgr has the new owners.
ok(wait_for(sub { !rows(curl($bulk_jar, "$base/mail")->{body}) }, 30),
    "the old owner's session lists none of bulk.example's mail");
ok($s->wait_log(qr/qmgr\[\d+\]: warning: refuse held mail list: user=bulk, domain=bulk\.example: not its owner/),
    'qmgr refuses the list, naming the login and the domain');
$r = post($bulk_jar, '/mail/delete', { id => $bulk[0], csrf => $bulk_csrf });
is($r->{code}, '404', "delete by the domain's former owner: 404");
$r = post($bulk_jar, '/mail/return', { id => $bulk[1], csrf => $bulk_csrf });
is($r->{code}, '404', "return to sender by the former owner: 404");
ok($s->wait_log(qr/qmgr\[\d+\]: warning: \Q$bulk[0]\E: refuse delete: user=bulk, domain=bulk\.example: not its owner/),
    'qmgr refuses the delete, naming the login');
ok(-e $s->queue_file_path($bulk[0]) && -e $s->queue_file_path($bulk[1]),
    'both messages are still queued');

# --- a Subject right before the end of the head qmgr reads -----------------
# qmgr reads the first 8192 bytes of a message for its Subject. A Subject
# whose next line is cut off there is whole and must show as itself, not
# with what the buffer held for the row before.
# raw_mail TO, DATA - queue DATA as it is (no header added); its queue ID
sub raw_mail {
	my ($to, $data) = @_;
	my $file = "$dir/raw.eml";
	spew($file, $data);
	my ($rc, $out) = $s->swaks('--from', 'alice@sender.example', '--to', $to,
	    '--data', "\@$file");
	my ($qid) = $out =~ /queued as ([0-9A-F]{20})/;
	diag("swaks: exit $rc: $out") unless $qid;
	return $qid // 'none';
}
my $probe = raw_mail('p1@other.example', "X-Probe: 1\r\n\r\nbody\r\n");
my $pq = $s->read_queue_file($probe);
my $received = $pq ? index($pq->{content}, 'X-Probe:') : -1;
ok($received > 0, "our Received: header is $received bytes");
my $subject_line = "Subject: cut\r\n";
my $pad = 8192 - 50 - $received - length($subject_line);
my $head = '';
# Lines of 900 bytes, and the rest (more than 98) in the last one.
while ($pad > 0) {
	my $n = $pad > 998 ? 900 : $pad;
	$head .= 'X-Pad: ' . ('p' x ($n - 9)) . "\r\n";
	$pad -= $n;
}
my $m_cut = raw_mail('c1@other.example',
    $head . $subject_line . 'X-Tail: ' . ('t' x 200) . "\r\n\r\nbody\r\n");
my $cq = $s->read_queue_file($m_cut);
my $at = $cq ? index($cq->{content}, $subject_line) + length($subject_line) : -1;
ok($at > 8000 && $at < 8192, "the Subject ends at byte $at of the content, its next line past 8192");
$r = curl($other_jar, "$base/mail");
is(row($r->{body}, $m_cut)->{subject}, 'cut', 'the list shows that Subject as written')
    or diag(explain(row($r->{body}, $m_cut)));
is(row($r->{body}, $probe)->{subject}, '<em>(no subject)</em>', 'and a message without one as none');

web_stopped_ok($s);
$_->stop for $site, $senders;
diag(sprintf 'run time %.1fs', time - $t0);
done_testing();
