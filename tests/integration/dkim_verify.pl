#!/usr/bin/perl
# Verifies the DKIM signatures of the message on stdin with Mail::DKIM,
# fetching keys from the test DNS server on 127.0.0.1:<port>.
# Prints one line per signature: "<result> <detail>", then "overall <r>".
use strict;
use warnings;
use Mail::DKIM::DNS;
use Mail::DKIM::Verifier;
use Net::DNS::Resolver;

my $port = shift or die "usage: dkim_verify.pl <dns port>\n";
my $res = Net::DNS::Resolver->new(
  nameservers => ['127.0.0.1'], port => $port, recurse => 0,
  usevc => 1,  # TCP: RSA-3072 keys do not fit a 512-byte UDP answer.
  udp_timeout => 5, tcp_timeout => 5, retry => 1);
Mail::DKIM::DNS::resolver($res);

binmode STDIN;
local $/;
my $msg = <STDIN>;
$msg =~ s/(?<!\r)\n/\r\n/g;
my $dkim = Mail::DKIM::Verifier->new();
$dkim->PRINT($msg);
$dkim->CLOSE();
foreach my $sig ($dkim->signatures) {
  print $sig->result, " ", ($sig->result_detail // ""), "\n";
}
print "overall ", $dkim->result, "\n";
