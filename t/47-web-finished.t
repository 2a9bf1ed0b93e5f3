# t/47-web-finished.t - the "finished" signal on the web page (web(8sluice)),
# with curl and headless Chromium as t/61-web.t runs them: after the login
# the page shows the deliveries in flight (Postfix's smtp-sink as the
# site, stopped until one is seen), then "finished at ..." with the
# delivered count equal to the sink's; a customer whose site refuses
# connections sees "Delivery to your site is failing", the reason ("cannot
# reach ADDR:PORT: connection refused") and the time where the green
# "open" would be.
#
# Copyright (c) 2026 the sluice authors
# SPDX-License-Identifier: MIT
use strict;
use warnings;

use IO::Socket::INET;
use Test::More;

use SluiceTest qw(free_port wait_for spew);
use WebTest qw(chromium_shot png_ok artifact_dir customer_passwd web_login
    status_until);
use FingerProbe qw(sink_start sink_stop sink_messages);

my $wport = free_port();
my $sinkport = free_port();
my $s = SluiceTest->new(
    conf => {
	web_listen => "127.0.0.1:$wport",
	web_refresh => '1s',
	trigger_min_interval => '1s',
	trigger_client_limit => 1000,
    },
    domains => ['placeholder']);
my $dead = $s->dead_port;
$s->set_domains(
	"site.example mode=hold route=[127.0.0.1]:$sinkport lease=5m probe=no owner=demo",
	"dead.example mode=hold route=[127.0.0.1]:$dead lease=5m probe=no owner=dude");

ok(customer_passwd($s, $_, "$_-secret"), "sluice passwd $_") for qw(demo dude);
$s->start;
my $base = "http://127.0.0.1:$wport";
ok(wait_for(sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$wport") }, 20),
    'web listens') or BAIL_OUT("web did not start:\n" . $s->log_text);
my $dir = $s->dir;

for my $d (qw(site.example site.example site.example dead.example)) {
	my ($rc, $out) = $s->swaks('--to', "user\@$d");
	is($rc, 0, "a message for $d queued") or diag($out);
}
ok(wait_for(sub { scalar($s->queue_list_ids) == 4 }, 20), 'four messages queued');

# --- a customer whose site takes its mail -----------------------------------
# The site is frozen (SIGSTOP) with its port open: deliver connects and
# waits for the greeting, so the deliveries stay in flight until CONT.
my $sink = sink_start("$dir/sink", $sinkport);
kill 'STOP', $sink;
my $jar = "$dir/demo-cookies";
is(web_login($base, $jar, 'demo', 'demo-secret')->{code}, '303', 'demo logs in');
my ($c) = status_until($base, $jar, 'site.example', sub { ($_[0]{inflight} // 0) > 0 });
ok($c, 'the page shows deliveries in flight');
is($c->{progress}, 'in progress', 'progress: in progress');
is($c->{gate_class}, 'open', 'the gate is shown open');
kill 'CONT', $sink;
my $page;
($c, $page) = status_until($base, $jar, 'site.example',
    sub { ($_[0]{progress} // '') =~ /^finished at / });
ok($c, 'then the page says finished');
like($c->{progress} // '', qr/^finished at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/,
    'finished at a UTC time');
my $count = scalar(sink_messages("$dir/sink"));
is($count, 3, 'the sink has the three messages');
is($c->{delivered}, $count, 'delivered this session: the sink\'s count');
is($c->{pending}, 0, 'nothing waiting');
is($c->{inflight}, 0, 'nothing in flight');
sink_stop($sink);
my $art = artifact_dir();
spew("$art/web-finished.html", $page // '');

# --- a customer whose site refuses connections ------------------------------
my $jar2 = "$dir/dude-cookies";
is(web_login($base, $jar2, 'dude', 'dude-secret')->{code}, '303', 'dude logs in');
ok($s->wait_log(qr/gate: domain=dead\.example, state=held, reason=connection failed/),
    'the refused connection closed the gate');
($c, $page) = status_until($base, $jar2, 'dead.example', sub { ($_[0]{gate_class} // '') eq 'failing' });
ok($c, 'the page shows the gate failing, not open');
is($c->{gate}, 'Delivery to your site is failing', 'Delivery to your site is failing');
like($page // '', qr/<dd class="reason">cannot reach 127\.0\.0\.1:$dead: connection refused<\/dd>/,
    'the reason: cannot reach 127.0.0.1:PORT: connection refused');
like($page // '', qr/<dd class="attempt">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/dd>/,
    'the time of the last attempt');
is($c->{progress}, undef, 'and no progress row repeats it');
is($c->{pending}, 1, 'the message still waits');
spew("$art/web-failing.html", $page // '');

# --- Chromium renders both (saved copies: it cannot carry the cookie) --------
for my $name (qw(web-finished web-failing)) {
	my ($ok, $why) = chromium_shot("file://$art/$name.html", "$art/$name.png");
	ok($ok, "Chromium renders the $name page") or diag($why);
	my ($w) = png_ok("$art/$name.png");
	is($w, 390, "$name screenshot: a phone-wide PNG");
}

my @bad = grep { /AddressSanitizer|runtime error|panic/ } split /\n/, $s->log_text;
ok(!@bad, 'no sanitizer report or panic') or diag(join "\n", @bad);
$s->stop;
done_testing;
